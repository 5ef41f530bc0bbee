//! password-mgmt's RSA password encryption and decryption beside OpenSSL (through the
//! `openssl` crate's EVP interface), on the same fixed keys, RSA-2048 and RSA-4096,
//! PKCS#1 v1.5 and OAEP-SHA256 (SHA-256 for the label hash and for MGF1 on both sides).
//!
//! OpenSSL's figure is the baseline of each group; every ciphertext is checked to decrypt
//! on the other side before anything is timed.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    reason = "benches: criterion's macros make undocumented items; the values are fixed"
)]

use core::hint::black_box;
use core::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, criterion_group, criterion_main};
use openssl::encrypt::{Decrypter, Encrypter};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Padding;
use password_mgmt::{EncryptedPassword, PasswordEncryptor, PasswordKeyPair, Scheme};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

const PASSWORD: &str = "correct horse battery staple";

struct Key {
    bits: u32,
    pkcs8_pem: &'static str,
}

const KEYS: [Key; 2] = [
    Key {
        bits: 2048,
        pkcs8_pem: include_str!("../../tests/data/keys/rsa2048.pk8.pem"),
    },
    Key {
        bits: 4096,
        pkcs8_pem: include_str!("../../tests/data/keys/rsa4096.pk8.pem"),
    },
];

fn scheme_name(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::OaepSha256 => "oaep_sha256",
        _ => "pkcs1v15",
    }
}

/// OpenSSL's encryption under `scheme`, with a fresh EVP context per call as a server or
/// client would make one.
fn openssl_encrypt(key: &PKey<Public>, scheme: Scheme, message: &[u8]) -> Vec<u8> {
    let mut encrypter = Encrypter::new(key).unwrap();
    if scheme == Scheme::OaepSha256 {
        encrypter.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
        encrypter.set_rsa_oaep_md(MessageDigest::sha256()).unwrap();
        encrypter.set_rsa_mgf1_md(MessageDigest::sha256()).unwrap();
    } else {
        encrypter.set_rsa_padding(Padding::PKCS1).unwrap();
    }
    let mut out = vec![0; encrypter.encrypt_len(message).unwrap()];
    let n = encrypter.encrypt(message, &mut out).unwrap();
    out.truncate(n);
    out
}

/// OpenSSL's decryption under `scheme` (blinded by OpenSSL's default), fresh EVP context.
fn openssl_decrypt(key: &PKey<Private>, scheme: Scheme, ciphertext: &[u8]) -> Vec<u8> {
    let mut decrypter = Decrypter::new(key).unwrap();
    if scheme == Scheme::OaepSha256 {
        decrypter.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
        decrypter.set_rsa_oaep_md(MessageDigest::sha256()).unwrap();
        decrypter.set_rsa_mgf1_md(MessageDigest::sha256()).unwrap();
    } else {
        decrypter.set_rsa_padding(Padding::PKCS1).unwrap();
    }
    let mut out = vec![0; decrypter.decrypt_len(ciphertext).unwrap()];
    let n = decrypter.decrypt(ciphertext, &mut out).unwrap();
    out.truncate(n);
    out
}

fn slow_group<'a>(c: &'a mut Criterion, name: String, bits: u32) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    if bits > 2048 {
        group.measurement_time(Duration::from_secs(5));
    }
    group
}

fn rsa(c: &mut Criterion) {
    for key in &KEYS {
        let pair = PasswordKeyPair::from_pkcs8_pem(key.pkcs8_pem).unwrap();
        let encryptor: &PasswordEncryptor = pair.encryptor();
        let private = PKey::private_key_from_pem(key.pkcs8_pem.as_bytes()).unwrap();
        let public = PKey::public_key_from_der(encryptor.spki_der()).unwrap();
        for scheme in [Scheme::Pkcs1v15, Scheme::OaepSha256] {
            // Both directions agree before anything is timed.
            let mut rng = ChaCha20Rng::seed_from_u64(7);
            let ours = encryptor.encrypt(&mut rng, PASSWORD, scheme).unwrap();
            assert_eq!(
                openssl_decrypt(&private, scheme, ours.as_bytes()),
                PASSWORD.as_bytes()
            );
            let theirs = EncryptedPassword::from_bytes(openssl_encrypt(
                &public,
                scheme,
                PASSWORD.as_bytes(),
            ));
            assert_eq!(
                pair.decrypt(&mut rng, &theirs, scheme).unwrap().as_str(),
                PASSWORD
            );

            let name = format!("peers_rsa{}_encrypt_{}", key.bits, scheme_name(scheme));
            let mut group = slow_group(c, name, key.bits);
            group.bench_function("baseline_openssl_encrypt", |b| {
                b.iter(|| openssl_encrypt(&public, scheme, black_box(PASSWORD).as_bytes()));
            });
            let mut rng = ChaCha20Rng::seed_from_u64(1);
            group.bench_function("PasswordEncryptor_encrypt", |b| {
                b.iter(|| {
                    encryptor
                        .encrypt(&mut rng, black_box(PASSWORD), scheme)
                        .unwrap()
                });
            });
            group.finish();

            let name = format!("peers_rsa{}_decrypt_{}", key.bits, scheme_name(scheme));
            let mut group = slow_group(c, name, key.bits);
            group.bench_function("baseline_openssl_decrypt", |b| {
                b.iter(|| openssl_decrypt(&private, scheme, black_box(ours.as_bytes())));
            });
            let mut rng = ChaCha20Rng::seed_from_u64(1);
            group.bench_function("PasswordKeyPair_decrypt", |b| {
                b.iter(|| pair.decrypt(&mut rng, black_box(&ours), scheme).unwrap());
            });
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = rsa
}
criterion_main!(benches);
