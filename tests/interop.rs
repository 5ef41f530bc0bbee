//! Interoperability with implementations nobody here wrote: Java 17 (the seed's own code),
//! the `openssl pkeyutl` CLI, and Python's `cryptography`. Both directions, both schemes,
//! 2048/3072/4096-bit keys, ASCII, non-ASCII and longest passwords; one byte over the
//! limit must be refused by the peer too, which shows the limits agree.
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

use base64ct::{Base64, Encoding};
use password_mgmt::{EncryptedPassword, PasswordKeyPair, Scheme};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

const REQUIRE: &str = "PASSWORD_MGMT_REQUIRE_INTEROP";

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
    password: String,
}

fn scheme_name(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Pkcs1v15 => "pkcs1",
        _ => "oaep",
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
    keys: Vec<(u32, PasswordKeyPair)>,
}

impl Fixture {
    fn new() -> Self {
        let keys = [2048u32, 3072, 4096]
            .map(|bits| {
                let pem =
                    fs::read_to_string(root().join(format!("tests/data/keys/rsa{bits}.pk8.pem")))
                        .unwrap();
                (bits, PasswordKeyPair::from_pkcs8_pem(&pem).unwrap())
            })
            .into();
        Self { keys }
    }

    fn key(&self, bits: u32) -> &PasswordKeyPair {
        &self.keys.iter().find(|(b, _)| *b == bits).unwrap().1
    }

    /// Every (size, scheme, password) combination, and the one-byte-over password per
    /// size and scheme.
    fn cases(&self) -> (Vec<Case>, Vec<Case>) {
        let mut fit = Vec::new();
        let mut over = Vec::new();
        for (bits, key) in &self.keys {
            for scheme in [Scheme::Pkcs1v15, Scheme::OaepSha256] {
                let max = key.encryptor().max_password_len(scheme);
                for password in [
                    "correct horse battery staple".to_owned(),
                    "Pässwörd-密码-🔑".to_owned(),
                    longest(max),
                ] {
                    fit.push(Case {
                        bits: *bits,
                        scheme,
                        password,
                    });
                }
                over.push(Case {
                    bits: *bits,
                    scheme,
                    password: longest(max + 1),
                });
            }
        }
        (fit, over)
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

/// The whole exchange with a line-protocol peer, both directions. `too_long` is the answer
/// the peer must give for one byte over the limit (its exception's name).
fn exchange_with_line_peer(peer: &str, command: &mut Command, too_long: &str) {
    let fixture = Fixture::new();
    let (fit, over) = fixture.cases();
    let mut rng = ChaCha20Rng::seed_from_u64(2026);

    let mut requests = Vec::new();
    // The peer encrypts; we decrypt.
    for case in fit.iter().chain(&over) {
        let public = fixture.key(case.bits).public_key_base64();
        requests.push(format!(
            "enc {} {public} {}",
            scheme_name(case.scheme),
            to_hex(case.password.as_bytes())
        ));
    }
    // We encrypt; the peer decrypts.
    for case in &fit {
        let key = fixture.key(case.bits);
        let private = Base64::encode_string(&key.to_pkcs8_der().unwrap());
        let encrypted = key
            .encryptor()
            .encrypt(&mut rng, &case.password, case.scheme)
            .unwrap();
        requests.push(format!(
            "dec {} {private} {encrypted}",
            scheme_name(case.scheme)
        ));
    }

    let answers = run_line_peer(command, &requests);
    let (enc_fit, rest) = answers.split_at(fit.len());
    let (enc_over, dec_fit) = rest.split_at(over.len());
    for (case, answer) in fit.iter().zip(enc_fit) {
        let what = format!(
            "{peer} encrypt, {} bits, {:?}, {} bytes",
            case.bits,
            case.scheme,
            case.password.len()
        );
        let encrypted: EncryptedPassword = answer
            .parse()
            .unwrap_or_else(|e| panic!("{what}: {answer}: {e}"));
        let password = fixture
            .key(case.bits)
            .decrypt(&mut rng, &encrypted, case.scheme)
            .unwrap();
        assert_eq!(password.as_str(), case.password, "{what}");
    }
    for (case, answer) in over.iter().zip(enc_over) {
        assert_eq!(
            answer,
            too_long,
            "{peer} encrypting {} bytes for {} bits {:?}",
            case.password.len(),
            case.bits,
            case.scheme
        );
    }
    for (case, answer) in fit.iter().zip(dec_fit) {
        let what = format!(
            "{peer} decrypt, {} bits, {:?}, {} bytes",
            case.bits,
            case.scheme,
            case.password.len()
        );
        assert_eq!(answer, &to_hex(case.password.as_bytes()), "{what}");
    }
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
        "ERR javax.crypto.IllegalBlockSizeException",
    );

    // Java's OAEP-SHA256 without an OAEPParameterSpec uses SHA-1 for MGF1: the mistake the
    // docs warn about must fail here, not decrypt to something.
    let fixture = Fixture::new();
    let key = fixture.key(2048);
    let request = format!(
        "enc oaep-java-default {} {}",
        key.public_key_base64(),
        to_hex(b"secret")
    );
    let answer = run_line_peer(&mut java, &[request]).remove(0);
    let encrypted: EncryptedPassword = answer.parse().unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    assert_eq!(
        key.decrypt(&mut rng, &encrypted, Scheme::OaepSha256)
            .unwrap_err(),
        password_mgmt::Error::Decryption
    );
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
    exchange_with_line_peer("python", &mut python, "ERR ValueError");
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

fn openssl_pkeyopts(scheme: Scheme) -> &'static [&'static str] {
    match scheme {
        Scheme::Pkcs1v15 => &["-pkeyopt", "rsa_padding_mode:pkcs1"],
        _ => &[
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            "rsa_oaep_md:sha256",
            "-pkeyopt",
            "rsa_mgf1_md:sha256",
        ],
    }
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
    let pkeyutl = |args: &[&str], scheme: Scheme| {
        Command::new("openssl")
            .arg("pkeyutl")
            .args(args)
            .args(openssl_pkeyopts(scheme))
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    for (bits, key) in &fixture.keys {
        fs::write(
            scratch.file(&format!("{bits}.pub.der")),
            key.encryptor().spki_der(),
        )
        .unwrap();
        fs::write(
            scratch.file(&format!("{bits}.key.pem")),
            key.to_pkcs8_pem().unwrap().as_bytes(),
        )
        .unwrap();
    }
    let (msg, ct, pt) = (scratch.file("msg"), scratch.file("ct"), scratch.file("pt"));
    let [msg_s, ct_s, pt_s] = [&msg, &ct, &pt].map(|p| p.to_str().unwrap().to_owned());
    for case in &fit {
        let what = format!(
            "openssl, {} bits, {:?}, {} bytes",
            case.bits,
            case.scheme,
            case.password.len()
        );
        let public = scratch.file(&format!("{}.pub.der", case.bits));
        let private = scratch.file(&format!("{}.key.pem", case.bits));
        let key = fixture.key(case.bits);

        // openssl encrypts; we decrypt.
        fs::write(&msg, case.password.as_bytes()).unwrap();
        let args = [
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
        assert!(pkeyutl(&args, case.scheme), "{what}: encrypt");
        let encrypted = EncryptedPassword::from_bytes(fs::read(&ct).unwrap());
        assert_eq!(
            key.decrypt(&mut rng, &encrypted, case.scheme)
                .unwrap()
                .as_str(),
            case.password,
            "{what}"
        );

        // We encrypt; openssl decrypts.
        let encrypted = key
            .encryptor()
            .encrypt(&mut rng, &case.password, case.scheme)
            .unwrap();
        fs::write(&ct, encrypted.as_bytes()).unwrap();
        let args = [
            "-decrypt",
            "-inkey",
            private.to_str().unwrap(),
            "-in",
            &ct_s,
            "-out",
            &pt_s,
        ];
        assert!(pkeyutl(&args, case.scheme), "{what}: decrypt");
        assert_eq!(fs::read(&pt).unwrap(), case.password.as_bytes(), "{what}");
    }
    for case in &over {
        let public = scratch.file(&format!("{}.pub.der", case.bits));
        fs::write(&msg, case.password.as_bytes()).unwrap();
        let args = [
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
        assert!(
            !pkeyutl(&args, case.scheme),
            "openssl encrypted {} bytes for {} bits {:?}",
            case.password.len(),
            case.bits,
            case.scheme
        );
    }
}
