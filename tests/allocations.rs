//! Zero heap allocations on the token paths, proven with a counting global allocator.
//!
//! The counting allocator needs `unsafe impl GlobalAlloc`, and this package forbids unsafe
//! code in all of its targets (`unsafe_code = "forbid"` in Cargo.toml's `[lints]`, which a
//! test file cannot relax). So this test writes a one-test package under the target
//! directory, with `password-mgmt` as a path dependency and this repository's Cargo.lock,
//! and runs `tests/alloc_count/allocations.rs` in it with cargo. The first run builds the
//! dependencies once more (about a minute); later runs reuse them.
//!
//! `cargo test --test allocations -- --nocapture` prints every count.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "tests: a panic is a failure report"
)]

use std::path::Path;
use std::process::Command;
use std::{env, fs};

#[test]
fn token_paths_make_no_heap_allocation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("alloc-count");
    fs::create_dir_all(&dir).expect("create the package directory");
    let manifest = format!(
        r#"# Written by tests/allocations.rs of password-mgmt; rewritten on every run.
[package]
name = "password-mgmt-alloc-count"
version = "0.0.0"
edition = "2024"
publish = false

[[test]]
name = "allocations"
path = '{test}'

[dependencies]
password-mgmt = {{ path = '{root}' }}
rand = "0.10"
rand_chacha = "0.10"

[profile.dev.package."*"]
opt-level = 3

[workspace]
"#,
        test = root.join("tests/alloc_count/allocations.rs").display(),
        root = root.display(),
    );
    fs::write(dir.join("Cargo.toml"), manifest).expect("write Cargo.toml");
    // The same dependency versions as this package's tests; cargo drops what is unused.
    fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("copy Cargo.lock");

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .arg("test")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(dir.join("target"))
        .args([
            "--test",
            "allocations",
            "--",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the counting-allocator tests failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("test result: ok. 6 passed"),
        "expected the six counting tests to run:\n{stdout}"
    );
}
