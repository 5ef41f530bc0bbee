//! Interoperability with implementations nobody here wrote: Java 17 (the seed's own code),
//! the `openssl pkeyutl` CLI, and Python's `cryptography`. Both directions, all three
//! schemes, 2048/3072/4096-bit keys, ASCII, non-ASCII and longest passwords; one byte over
//! the limit must be refused by the peer too, which shows the limits agree.
//!
//! The label of `oaep-sha256-bound` is built by each peer from the documented recipe
//! (`"password-mgmt/v1 oaep-label\0" ‖ publicKeyId ‖ identityId`), never handed over as
//! bytes: Java and Python build it in their own code, and check the `publicKeyId` they are
//! given against their own RFC 7638 thumbprint of the key; for the OpenSSL CLI this file
//! builds it, from a thumbprint of the modulus that `openssl` prints. A peer given the
//! label of another identity must fail to decrypt.
//!
//! A missing tool skips its test with a loud message, unless `PASSWORD_MGMT_REQUIRE_INTEROP`
//! is set (as `.ci/run` does), in which case it fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "tests: a panic is a failure report, and the values are fixed"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::{env, fs};

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use password_mgmt::{EncryptedPassword, Error, NewPassword, PasswordKeyPair, Scheme};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use sha2::{Digest, Sha256};

const REQUIRE: &str = "PASSWORD_MGMT_REQUIRE_INTEROP";

const SCHEMES: [Scheme; 3] = [
    Scheme::Pkcs1v15,
    Scheme::OaepSha256,
    Scheme::OaepSha256Bound,
];

/// The identities of the cases, taken in turn: an ASCII id (the API's example) and a
/// non-ASCII one, so that the label's UTF-8 is checked too.
const IDENTITIES: [&str; 2] = ["2c918085744fec4301746f9a5bce4605", "Ábby.Smith-密码"];

/// Another identity, whose label must not open the cases' ciphertexts.
const SOMEONE_ELSE: &str = "2c918085744fec4301746f9a5bce4606";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `tool` works; skips loudly or fails, as the module docs say, when it does not.
fn available(tool: &str, probe: &mut Command) -> bool {
    let works = probe
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        assert!(
            env::var_os(REQUIRE).is_none(),
            "{tool} is required ({REQUIRE} is set) but does not work"
        );
        // Straight to stderr: the test harness captures `eprintln!`, and a skip must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: interop with {tool}: the tool is not installed here; set {REQUIRE}=1 to make this a failure"
        );
    }
    works
}

struct Case {
    bits: u32,
    scheme: Scheme,
    identity: &'static str,
    password: String,
}

impl Case {
    fn new_password(&self) -> NewPassword<'_> {
        NewPassword {
            identity_id: self.identity,
            password: &self.password,
        }
    }

    fn describe(&self, what: &str) -> String {
        format!(
            "{what}, {} bits, {}, identity {:?}, {} bytes",
            self.bits,
            self.scheme,
            self.identity,
            self.password.len()
        )
    }
}

/// A password of exactly `len` bytes with non-ASCII characters in it.
fn longest(len: usize) -> String {
    let mut p = String::new();
    for c in "Pässwörd-密码-🔑".chars().cycle() {
        if p.len() + c.len_utf8() > len {
            break;
        }
        p.push(c);
    }
    while p.len() < len {
        p.push('x');
    }
    p
}

struct Fixture {
    /// Every test key, loaded once for each scheme.
    keys: Vec<(u32, Scheme, PasswordKeyPair)>,
}

impl Fixture {
    fn new() -> Self {
        let mut keys = Vec::new();
        for bits in [2048u32, 3072, 4096] {
            let pem = fs::read_to_string(root().join(format!("tests/data/keys/rsa{bits}.pk8.pem")))
                .unwrap();
            for scheme in SCHEMES {
                keys.push((
                    bits,
                    scheme,
                    PasswordKeyPair::from_pkcs8_pem(&pem, scheme).unwrap(),
                ));
            }
        }
        Self { keys }
    }

    fn key(&self, bits: u32, scheme: Scheme) -> &PasswordKeyPair {
        &self
            .keys
            .iter()
            .find(|(b, s, _)| *b == bits && *s == scheme)
            .unwrap()
            .2
    }

    /// Every (size, scheme, password) combination, and the one-byte-over password per
    /// size and scheme; the identities taken in turn.
    fn cases(&self) -> (Vec<Case>, Vec<Case>) {
        let mut fit = Vec::new();
        let mut over = Vec::new();
        let mut identities = IDENTITIES.iter().copied().cycle();
        for (bits, scheme, key) in &self.keys {
            let max = key.encryptor().max_password_len();
            for password in [
                "correct horse battery staple".to_owned(),
                "Pässwörd-密码-🔑".to_owned(),
                longest(max),
            ] {
                fit.push(Case {
                    bits: *bits,
                    scheme: *scheme,
                    identity: identities.next().unwrap(),
                    password,
                });
            }
            over.push(Case {
                bits: *bits,
                scheme: *scheme,
                identity: identities.next().unwrap(),
                password: longest(max + 1),
            });
        }
        (fit, over)
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length: {text}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The RFC 7638 thumbprint of an RSA key from its big-endian modulus and exponent,
/// computed here (with `sha2` and `base64ct`), not with the crate's code.
fn rfc7638(n: &[u8], e: &[u8]) -> String {
    let trim = |b: &[u8]| b[b.iter().position(|&x| x != 0).unwrap_or(b.len())..].to_vec();
    let jwk = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        Base64UrlUnpadded::encode_string(&trim(e)),
        Base64UrlUnpadded::encode_string(&trim(n)),
    );
    Base64UrlUnpadded::encode_string(&Sha256::digest(jwk.as_bytes()))
}

/// The label of `oaep-sha256-bound`, from the documented recipe.
fn bound_label(public_key_id: &str, identity_id: &str) -> Vec<u8> {
    assert_eq!(public_key_id.len(), 43);
    [
        b"password-mgmt/v1 oaep-label\0".as_slice(),
        public_key_id.as_bytes(),
        identity_id.as_bytes(),
    ]
    .concat()
}

/// A ciphertext of the crate that starts with a zero byte, found with a seeded RNG (about
/// one in 256), with its leading zeros stripped, as some clients send it.
fn short_ciphertext(key: &PasswordKeyPair, new: &NewPassword<'_>) -> EncryptedPassword {
    let mut rng = ChaCha20Rng::seed_from_u64(256);
    for _ in 0..5000 {
        let encrypted = key.encryptor().encrypt(&mut rng, new).unwrap();
        let bytes = encrypted.as_bytes();
        if bytes[0] == 0 {
            let zeros = bytes.iter().take_while(|&&b| b == 0).count();
            return EncryptedPassword::from_bytes(bytes[zeros..].to_vec());
        }
    }
    panic!("no ciphertext with a leading zero in 5000 tries");
}

/// Runs a peer that answers one line per request line (Interop.java, interop.py).
fn run_line_peer(command: &mut Command, requests: &[String]) -> Vec<String> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // Write from a thread while the peer's answers are read, so that neither pipe fills up.
    let mut stdin = child.stdin.take().unwrap();
    let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "peer failed: {:?}", out.status);
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), requests.len(), "one answer per request");
    lines
}

/// A request line of the line protocol: `op scheme key publicKeyId identityHex data`.
fn request(op: &str, scheme: &str, key: &str, key_id: &str, identity: &str, data: &str) -> String {
    format!(
        "{op} {scheme} {key} {key_id} {} {data}",
        to_hex(identity.as_bytes())
    )
}

/// What a line peer answers for one of the crate's ciphertexts shorter than the modulus.
enum Short {
    /// It left-pads and decrypts (Java).
    Decrypts,
    /// It refuses, with this answer (Python's `cryptography` wants the full length).
    Refuses(&'static str),
}

/// The answers a line peer gives on failure: its exception names.
struct PeerErrors {
    /// For one byte over the limit.
    too_long: &'static str,
    /// For a bound ciphertext opened with another identity's label.
    wrong_label: &'static str,
    /// For a ciphertext shorter than the modulus.
    short: Short,
}

/// The whole exchange with a line-protocol peer, both directions.
fn exchange_with_line_peer(peer: &str, command: &mut Command, errors: &PeerErrors) {
    let fixture = Fixture::new();
    let (fit, over) = fixture.cases();
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let public = |c: &Case| fixture.key(c.bits, c.scheme).public_key_base64();
    let private = |key: &PasswordKeyPair| Base64::encode_string(&key.to_pkcs8_der().unwrap());
    let key_id = |c: &Case| fixture.key(c.bits, c.scheme).public_key_id().to_string();

    let mut requests = Vec::new();
    // The peer encrypts; we decrypt.
    for case in fit.iter().chain(&over) {
        requests.push(request(
            "enc",
            case.scheme.as_str(),
            &public(case),
            &key_id(case),
            case.identity,
            &to_hex(case.password.as_bytes()),
        ));
    }
    // We encrypt; the peer decrypts.
    for case in &fit {
        let key = fixture.key(case.bits, case.scheme);
        let encrypted = key
            .encryptor()
            .encrypt(&mut rng, &case.new_password())
            .unwrap();
        requests.push(request(
            "dec",
            case.scheme.as_str(),
            &private(key),
            &key_id(case),
            case.identity,
            &encrypted.to_string(),
        ));
    }
    // We encrypt bound for one identity; the peer tries another's label.
    let bound: Vec<&Case> = fit
        .iter()
        .filter(|c| c.scheme == Scheme::OaepSha256Bound)
        .collect();
    for case in &bound {
        let key = fixture.key(case.bits, case.scheme);
        let encrypted = key
            .encryptor()
            .encrypt(&mut rng, &case.new_password())
            .unwrap();
        requests.push(request(
            "dec",
            case.scheme.as_str(),
            &private(key),
            &key_id(case),
            SOMEONE_ELSE,
            &encrypted.to_string(),
        ));
    }
    // Our ciphertexts with their leading zeros stripped.
    for scheme in SCHEMES {
        let key = fixture.key(2048, scheme);
        let new = NewPassword {
            identity_id: IDENTITIES[1],
            password: "short ciphertext",
        };
        let short = short_ciphertext(key, &new);
        assert!(short.as_bytes().len() < 256);
        requests.push(request(
            "dec",
            scheme.as_str(),
            &private(key),
            &key.public_key_id().to_string(),
            new.identity_id,
            &short.to_string(),
        ));
    }
    // The peer checks the publicKeyId it is given: the 3072-bit key's id for the 2048-bit
    // key is refused (so its check of the crate's ids is not vacuous).
    let key = fixture.key(2048, Scheme::Pkcs1v15);
    requests.push(request(
        "enc",
        "pkcs1v15",
        &key.public_key_base64(),
        &fixture
            .key(3072, Scheme::Pkcs1v15)
            .public_key_id()
            .to_string(),
        IDENTITIES[0],
        &to_hex(b"secret"),
    ));

    let answers = run_line_peer(command, &requests);
    let (enc_fit, rest) = answers.split_at(fit.len());
    let (enc_over, rest) = rest.split_at(over.len());
    let (dec_fit, rest) = rest.split_at(fit.len());
    let (dec_wrong_label, rest) = rest.split_at(bound.len());
    let (dec_short, rest) = rest.split_at(SCHEMES.len());
    let [wrong_key_id] = rest else {
        panic!("{} answers left", rest.len())
    };
    for (case, answer) in fit.iter().zip(enc_fit) {
        let what = case.describe(&format!("{peer} encrypt"));
        let encrypted: EncryptedPassword = answer
            .parse()
            .unwrap_or_else(|e| panic!("{what}: {answer}: {e}"));
        let key = fixture.key(case.bits, case.scheme);
        let password = key
            .decrypt(&mut rng, &encrypted, case.identity)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(password.as_str(), case.password, "{what}");
        // The peer's bound ciphertext is for this identity only.
        if case.scheme == Scheme::OaepSha256Bound {
            assert_eq!(
                key.decrypt(&mut rng, &encrypted, SOMEONE_ELSE).unwrap_err(),
                Error::Decryption,
                "{what}, decrypted for someone else"
            );
        }
    }
    for (case, answer) in over.iter().zip(enc_over) {
        assert_eq!(
            answer,
            errors.too_long,
            "{}",
            case.describe(&format!("{peer} encrypting one byte over the limit"))
        );
    }
    for (case, answer) in fit.iter().zip(dec_fit) {
        let what = case.describe(&format!("{peer} decrypt"));
        assert_eq!(answer, &to_hex(case.password.as_bytes()), "{what}");
    }
    for (case, answer) in bound.iter().zip(dec_wrong_label) {
        let what = case.describe(&format!("{peer} decrypt for {SOMEONE_ELSE}"));
        assert_eq!(answer, errors.wrong_label, "{what}");
    }
    for (scheme, answer) in SCHEMES.iter().zip(dec_short) {
        let what = format!("{peer} decrypting a short {scheme} ciphertext");
        match errors.short {
            Short::Decrypts => assert_eq!(answer, &to_hex(b"short ciphertext"), "{what}"),
            Short::Refuses(refusal) => assert_eq!(answer, refusal, "{what}"),
        }
    }
    assert!(
        wrong_key_id.starts_with("ERR ") && wrong_key_id.ends_with("KeyIdMismatch"),
        "{peer} accepted another key's publicKeyId: {wrong_key_id}"
    );
}

#[test]
fn java_with_the_seeds_code() {
    if !available("java", Command::new("java").arg("-version")) {
        return;
    }
    let mut java = Command::new("java");
    java.arg(root().join("tests/interop/Interop.java"));
    exchange_with_line_peer(
        "java",
        &mut java,
        &PeerErrors {
            too_long: "ERR javax.crypto.IllegalBlockSizeException",
            wrong_label: "ERR javax.crypto.BadPaddingException",
            short: Short::Decrypts,
        },
    );

    // Java's OAEP-SHA256 without an OAEPParameterSpec uses SHA-1 for MGF1: the mistake the
    // docs warn about must fail here, not decrypt to something, under both OAEP schemes.
    let fixture = Fixture::new();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for scheme in [Scheme::OaepSha256, Scheme::OaepSha256Bound] {
        let key = fixture.key(2048, scheme);
        let line = request(
            "enc",
            "oaep-java-default",
            &key.public_key_base64(),
            &key.public_key_id().to_string(),
            IDENTITIES[0],
            &to_hex(b"secret"),
        );
        let answer = run_line_peer(&mut java, &[line]).remove(0);
        let encrypted: EncryptedPassword = answer.parse().unwrap();
        assert_eq!(
            key.decrypt(&mut rng, &encrypted, IDENTITIES[0])
                .unwrap_err(),
            Error::Decryption,
            "{scheme}"
        );
    }
}

#[test]
fn python_cryptography() {
    if !available(
        "python3 with cryptography",
        Command::new("python3").args(["-c", "import cryptography"]),
    ) {
        return;
    }
    let mut python = Command::new("python3");
    python.arg(root().join("tests/interop/interop.py"));
    exchange_with_line_peer(
        "python",
        &mut python,
        &PeerErrors {
            too_long: "ERR ValueError",
            wrong_label: "ERR ValueError",
            // "Ciphertext length must be equal to key size."
            short: Short::Refuses("ERR ValueError"),
        },
    );
}

/// A scratch folder, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = env::temp_dir().join(format!("password-mgmt-{name}-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The `-pkeyopt` arguments of a scheme; `label` is the bound scheme's label.
fn openssl_pkeyopts(scheme: Scheme, label: Option<&[u8]>) -> Vec<String> {
    let mut opts = match scheme {
        Scheme::Pkcs1v15 => vec!["rsa_padding_mode:pkcs1".to_owned()],
        _ => vec![
            "rsa_padding_mode:oaep".to_owned(),
            "rsa_oaep_md:sha256".to_owned(),
            "rsa_mgf1_md:sha256".to_owned(),
        ],
    };
    if scheme == Scheme::OaepSha256Bound {
        opts.push(format!("rsa_oaep_label:{}", to_hex(label.unwrap())));
    }
    opts.into_iter()
        .flat_map(|o| ["-pkeyopt".to_owned(), o])
        .collect()
}

/// Runs `openssl` with `args`; its standard output, or `None` when it failed.
fn openssl(args: &[&str]) -> Option<Vec<u8>> {
    let out = Command::new("openssl")
        .args(args)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    out.status.success().then_some(out.stdout)
}

/// The key id of a DER public key, from the modulus and exponent `openssl` prints.
fn openssl_key_id(public_der: &Path) -> String {
    let path = public_der.to_str().unwrap();
    let text = |args: &[&str]| String::from_utf8(openssl(args).unwrap()).unwrap();
    let modulus = text(&[
        "rsa", "-pubin", "-inform", "DER", "-in", path, "-modulus", "-noout",
    ]);
    let n = from_hex(modulus.trim().strip_prefix("Modulus=").unwrap());
    let dump = text(&[
        "pkey", "-pubin", "-inform", "DER", "-in", path, "-text", "-noout",
    ]);
    let e: u64 = dump
        .lines()
        .find_map(|l| l.trim().strip_prefix("Exponent: "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    rfc7638(&n, &e.to_be_bytes())
}

#[test]
fn openssl_pkeyutl() {
    if !available("openssl", Command::new("openssl").arg("version")) {
        return;
    }
    let fixture = Fixture::new();
    let (fit, over) = fixture.cases();
    let scratch = Scratch::new("openssl");
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut key_ids = std::collections::HashMap::new();
    for bits in [2048u32, 3072, 4096] {
        let key = fixture.key(bits, Scheme::Pkcs1v15);
        let public = scratch.file(&format!("{bits}.pub.der"));
        fs::write(&public, key.encryptor().spki_der()).unwrap();
        fs::write(
            scratch.file(&format!("{bits}.key.pem")),
            key.to_pkcs8_pem().unwrap().as_bytes(),
        )
        .unwrap();
        // The id the label uses, from openssl's view of the key: the crate's id agrees.
        let id = openssl_key_id(&public);
        assert_eq!(id, key.public_key_id().to_string(), "{bits} bits");
        key_ids.insert(bits, id);
    }
    let (msg, ct, pt) = (scratch.file("msg"), scratch.file("ct"), scratch.file("pt"));
    let [msg_s, ct_s, pt_s] = [&msg, &ct, &pt].map(|p| p.to_str().unwrap().to_owned());
    let public_of = |bits: u32| scratch.file(&format!("{bits}.pub.der"));
    let private_of = |bits: u32| scratch.file(&format!("{bits}.key.pem"));
    let label_of = |bits: u32, identity: &str| bound_label(&key_ids[&bits], identity);
    let encrypt = |bits: u32, scheme: Scheme, label: &[u8]| {
        let public = public_of(bits);
        let mut args = vec![
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-keyform",
            "DER",
            "-inkey",
            public.to_str().unwrap(),
            "-in",
            &msg_s,
            "-out",
            &ct_s,
        ];
        let opts = openssl_pkeyopts(scheme, Some(label));
        args.extend(opts.iter().map(String::as_str));
        openssl(&args).is_some()
    };
    let decrypt = |bits: u32, scheme: Scheme, label: &[u8]| {
        let private = private_of(bits);
        let mut args = vec![
            "pkeyutl",
            "-decrypt",
            "-inkey",
            private.to_str().unwrap(),
            "-in",
            &ct_s,
            "-out",
            &pt_s,
        ];
        let opts = openssl_pkeyopts(scheme, Some(label));
        args.extend(opts.iter().map(String::as_str));
        openssl(&args).is_some()
    };
    for case in &fit {
        let what = case.describe("openssl");
        let key = fixture.key(case.bits, case.scheme);
        let label = label_of(case.bits, case.identity);

        // openssl encrypts; we decrypt.
        fs::write(&msg, case.password.as_bytes()).unwrap();
        assert!(encrypt(case.bits, case.scheme, &label), "{what}: encrypt");
        let encrypted = EncryptedPassword::from_bytes(fs::read(&ct).unwrap());
        assert_eq!(
            key.decrypt(&mut rng, &encrypted, case.identity)
                .unwrap_or_else(|e| panic!("{what}: {e}"))
                .as_str(),
            case.password,
            "{what}"
        );
        if case.scheme == Scheme::OaepSha256Bound {
            assert_eq!(
                key.decrypt(&mut rng, &encrypted, SOMEONE_ELSE).unwrap_err(),
                Error::Decryption,
                "{what}: decrypted for someone else"
            );
        }

        // We encrypt; openssl decrypts.
        let encrypted = key
            .encryptor()
            .encrypt(&mut rng, &case.new_password())
            .unwrap();
        fs::write(&ct, encrypted.as_bytes()).unwrap();
        assert!(decrypt(case.bits, case.scheme, &label), "{what}: decrypt");
        assert_eq!(fs::read(&pt).unwrap(), case.password.as_bytes(), "{what}");
        if case.scheme == Scheme::OaepSha256Bound {
            let other = label_of(case.bits, SOMEONE_ELSE);
            assert!(
                !decrypt(case.bits, case.scheme, &other),
                "{what}: openssl decrypted it with someone else's label"
            );
        }
    }
    for case in &over {
        fs::write(&msg, case.password.as_bytes()).unwrap();
        assert!(
            !encrypt(case.bits, case.scheme, &label_of(case.bits, case.identity)),
            "{}",
            case.describe("openssl encrypted one byte over the limit")
        );
    }
    // openssl left-pads a short ciphertext, as the crate does.
    for scheme in SCHEMES {
        let new = NewPassword {
            identity_id: IDENTITIES[1],
            password: "short ciphertext",
        };
        let short = short_ciphertext(fixture.key(2048, scheme), &new);
        fs::write(&ct, short.as_bytes()).unwrap();
        assert!(
            decrypt(2048, scheme, &label_of(2048, new.identity_id)),
            "openssl refused a short {scheme} ciphertext"
        );
        assert_eq!(fs::read(&pt).unwrap(), b"short ciphertext", "{scheme}");
    }
}
