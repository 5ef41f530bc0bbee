//! Password encryption and decryption with RSA-2048 and RSA-4096, PKCS#1 v1.5 and
//! OAEP-SHA256, each beside the bare `rsa` call on the same key with the same kind of RNG;
//! key parsing beside the bare `rsa` parser, and encrypting or decrypting with the key
//! parsed once (the intended use) beside parsing it on every call.
//!
//! The keys are the fixed test keys in `tests/data/keys/`.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    reason = "benches: criterion's macros make undocumented items; the values are fixed"
)]

use core::hint::black_box;
use core::time::Duration;

use base64ct::{Base64, Encoding};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, criterion_group, criterion_main};
use password_mgmt::rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use password_mgmt::rsa::sha2::Sha256;
use password_mgmt::rsa::{Oaep, Pkcs1v15Encrypt, PrivateKey, PublicKey};
use password_mgmt::{EncryptedPassword, NewPassword, PasswordEncryptor, PasswordKeyPair, Scheme};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

const PASSWORD: &str = "correct horse battery staple";

struct Key {
    bits: u32,
    pkcs8_pem: &'static str,
    spki_base64: &'static str,
}

const KEYS: [Key; 2] = [
    Key {
        bits: 2048,
        pkcs8_pem: include_str!("../tests/data/keys/rsa2048.pk8.pem"),
        spki_base64: include_str!("../tests/data/keys/rsa2048.spki.b64"),
    },
    Key {
        bits: 4096,
        pkcs8_pem: include_str!("../tests/data/keys/rsa4096.pk8.pem"),
        spki_base64: include_str!("../tests/data/keys/rsa4096.spki.b64"),
    },
];

fn scheme_name(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::OaepSha256 => "oaep_sha256",
        _ => "pkcs1v15",
    }
}

/// A group for slow operations: few samples of few iterations each.
fn slow_group<'a>(c: &'a mut Criterion, name: String, bits: u32) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    if bits > 2048 {
        group.measurement_time(Duration::from_secs(5));
    }
    group
}

/// The password the benches encrypt, for an identity.
const NEW: NewPassword<'static> = NewPassword {
    identity_id: "2c918085744fec4301746f9a5bce4605",
    password: PASSWORD,
};

fn encrypt(c: &mut Criterion) {
    for key in &KEYS {
        let der = Base64::decode_vec(key.spki_base64.trim()).unwrap();
        let bare = PublicKey::from_public_key_der(&der).unwrap();
        for scheme in [Scheme::Pkcs1v15, Scheme::OaepSha256] {
            let encryptor = PasswordEncryptor::from_spki_base64(key.spki_base64, scheme).unwrap();
            let name = format!("rsa{}_encrypt_{}", key.bits, scheme_name(scheme));
            let mut group = slow_group(c, name, key.bits);
            let mut rng = ChaCha20Rng::seed_from_u64(1);
            group.bench_function("baseline_rsa_PublicKey_encrypt", |b| {
                b.iter(|| {
                    let message = black_box(PASSWORD).as_bytes();
                    match scheme {
                        Scheme::OaepSha256 => {
                            bare.encrypt(&mut rng, Oaep::<Sha256>::new(), message)
                        }
                        _ => bare.encrypt(&mut rng, Pkcs1v15Encrypt, message),
                    }
                    .unwrap()
                });
            });
            let mut rng = ChaCha20Rng::seed_from_u64(1);
            group.bench_function("PasswordEncryptor_encrypt", |b| {
                b.iter(|| encryptor.encrypt(&mut rng, black_box(&NEW)).unwrap());
            });
            if scheme == Scheme::Pkcs1v15 {
                let mut rng = ChaCha20Rng::seed_from_u64(1);
                group.bench_function("PasswordEncryptor_parse_and_encrypt", |b| {
                    b.iter(|| {
                        PasswordEncryptor::from_spki_base64(black_box(key.spki_base64), scheme)
                            .unwrap()
                            .encrypt(&mut rng, black_box(&NEW))
                            .unwrap()
                    });
                });
            }
            group.finish();
        }
    }
}

fn decrypt(c: &mut Criterion) {
    for key in &KEYS {
        let bare = PrivateKey::from_pkcs8_pem(key.pkcs8_pem).unwrap();
        for scheme in [Scheme::Pkcs1v15, Scheme::OaepSha256] {
            let pair = PasswordKeyPair::from_pkcs8_pem(key.pkcs8_pem, scheme).unwrap();
            let mut rng = ChaCha20Rng::seed_from_u64(7);
            let encrypted: EncryptedPassword = pair.encryptor().encrypt(&mut rng, &NEW).unwrap();
            let ciphertext = encrypted.as_bytes();

            let name = format!("rsa{}_decrypt_{}", key.bits, scheme_name(scheme));
            let mut group = slow_group(c, name, key.bits);
            let mut rng = ChaCha20Rng::seed_from_u64(1);
            group.bench_function("baseline_rsa_PrivateKey_decrypt_blinded", |b| {
                b.iter(|| {
                    let ciphertext = black_box(ciphertext);
                    match scheme {
                        Scheme::OaepSha256 => {
                            bare.decrypt_blinded(&mut rng, Oaep::<Sha256>::new(), ciphertext)
                        }
                        _ => bare.decrypt_blinded(&mut rng, Pkcs1v15Encrypt, ciphertext),
                    }
                    .unwrap()
                });
            });
            let mut rng = ChaCha20Rng::seed_from_u64(1);
            group.bench_function("PasswordKeyPair_decrypt", |b| {
                b.iter(|| {
                    pair.decrypt(&mut rng, black_box(&encrypted), NEW.identity_id)
                        .unwrap()
                });
            });
            if scheme == Scheme::Pkcs1v15 {
                let mut rng = ChaCha20Rng::seed_from_u64(1);
                group.bench_function("PasswordKeyPair_parse_and_decrypt", |b| {
                    b.iter(|| {
                        PasswordKeyPair::from_pkcs8_pem(black_box(key.pkcs8_pem), scheme)
                            .unwrap()
                            .decrypt(&mut rng, black_box(&encrypted), NEW.identity_id)
                            .unwrap()
                    });
                });
            }
            group.finish();
        }
    }
}

fn parse(c: &mut Criterion) {
    for key in &KEYS {
        let mut group = c.benchmark_group(format!("rsa{}_parse_public", key.bits));
        group.bench_function("baseline_rsa_PublicKey_from_der_of_base64", |b| {
            b.iter(|| {
                let der = Base64::decode_vec(black_box(key.spki_base64).trim()).unwrap();
                PublicKey::from_public_key_der(&der).unwrap()
            });
        });
        group.bench_function("PasswordEncryptor_from_spki_base64", |b| {
            b.iter(|| {
                PasswordEncryptor::from_spki_base64(black_box(key.spki_base64), Scheme::Pkcs1v15)
                    .unwrap()
            });
        });
        group.finish();

        let mut group = slow_group(c, format!("rsa{}_parse_private", key.bits), key.bits);
        group.bench_function("baseline_rsa_PrivateKey_from_pkcs8_pem", |b| {
            b.iter(|| PrivateKey::from_pkcs8_pem(black_box(key.pkcs8_pem)).unwrap());
        });
        group.bench_function("PasswordKeyPair_from_pkcs8_pem", |b| {
            b.iter(|| {
                PasswordKeyPair::from_pkcs8_pem(black_box(key.pkcs8_pem), Scheme::Pkcs1v15).unwrap()
            });
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = encrypt, decrypt, parse
}
criterion_main!(benches);
