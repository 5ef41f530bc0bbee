//! Sequences of operations on a `TokenKeyRing` and a `PasswordKeyRing`, checked against a
//! model of the documented behaviour.
//!
//! Input: operations of 2 bytes, `op (1) | arg (1)`, at most 128. `op % 8`: 0 accept token
//! key `arg % 6`, 1 rotate to it, 2 retire it, 3 look it up; 4 add password key pair
//! `arg % 6` (three RSA keys, each under two schemes), 5 publish it, 6 retire it, 7 look up
//! an id (a pair's, or garbage).
//!
//! Properties (the model is a list of ids and one current id per scheme): the current key
//! is always in the ring and can never be retired; a key is in the ring exactly when the
//! model says so, and `get` finds exactly those; a rotation keeps the previous key
//! accepted; adding the same key for a second scheme is refused, for the same scheme a
//! no-op; publishing makes a pair current for its scheme only, and the one before stays;
//! a lookup of an id not held is the API's 400 naming `publicKeyId`.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use password_mgmt::{
    Error, KeyError, KeyId, PasswordKeyPair, PasswordKeyRing, PublicKeyId, Scheme, TokenKey,
    TokenKeyRing, TokenKeys,
};

/// Three RSA keys, each under two schemes: six pairs, three ids.
static PAIRS: LazyLock<Vec<(&'static str, Scheme)>> = LazyLock::new(|| {
    let pems = [
        include_str!("../../tests/data/keys/rsa2048.pk8.pem"),
        include_str!("../../tests/data/cfrg-rsa-guidance/k2048.pem"),
        include_str!("../../tests/data/keys/rsa3072.pk8.pem"),
    ];
    pems.into_iter()
        .flat_map(|pem| [(pem, Scheme::Pkcs1v15), (pem, Scheme::OaepSha256Bound)])
        .collect()
});

fn pair(i: u8) -> PasswordKeyPair {
    let (pem, scheme) = PAIRS[usize::from(i % 6)];
    PasswordKeyPair::from_pkcs8_pem(pem, scheme).expect("the repository's keys import")
}

fn token_key(i: u8) -> TokenKey {
    TokenKey::from_bytes(&[i % 6; 32])
}

fuzz_target!(|data: &[u8]| {
    let mut tokens = TokenKeyRing::new(token_key(0));
    let mut token_model: Vec<KeyId> = vec![token_key(0).id()];
    let mut token_current = token_key(0).id();

    let mut passwords = PasswordKeyRing::new(pair(0));
    let mut pw_model: Vec<(PublicKeyId, Scheme)> = vec![(pair(0).public_key_id(), pair(0).scheme())];
    let mut pw_current: Vec<PublicKeyId> = vec![pair(0).public_key_id()];

    for chunk in data.chunks(2).take(128) {
        let (op, arg) = (chunk[0], chunk.get(1).copied().unwrap_or(0));
        match op % 8 {
            0 => {
                tokens.accept(token_key(arg));
                if !token_model.contains(&token_key(arg).id()) {
                    token_model.push(token_key(arg).id());
                }
            }
            1 => {
                let previous = tokens.rotate(token_key(arg));
                assert_eq!(previous, token_current);
                token_current = token_key(arg).id();
                if !token_model.contains(&token_current) {
                    token_model.push(token_current);
                }
            }
            2 => {
                let id = token_key(arg).id();
                let removed = tokens.retire(id);
                assert_eq!(removed, id != token_current && token_model.contains(&id));
                if removed {
                    token_model.retain(|k| *k != id);
                }
            }
            3 => {
                let id = token_key(arg).id();
                assert_eq!(tokens.get(id).map(TokenKey::id), token_model.contains(&id).then_some(id));
            }
            4 => {
                let new = pair(arg);
                let (id, scheme) = (new.public_key_id(), new.scheme());
                let held = pw_model.iter().find(|(i, _)| *i == id).map(|(_, s)| *s);
                match (passwords.add(new), held) {
                    (Ok(()), None) => {
                        pw_model.push((id, scheme));
                        if !pw_current.iter().any(|c| scheme_of(&pw_model, *c) == scheme) {
                            pw_current.push(id);
                        }
                    }
                    (Ok(()), Some(s)) => assert_eq!(s, scheme, "a second scheme was accepted"),
                    (Err(Error::Key(KeyError::SchemeConflict)), Some(s)) => assert_ne!(s, scheme),
                    (other, held) => panic!("add: {other:?} with {held:?} held"),
                }
            }
            5 => {
                let id = pair(arg).public_key_id();
                let result = passwords.set_current(id);
                match pw_model.iter().find(|(i, _)| *i == id) {
                    Some(&(_, scheme)) => {
                        assert!(result.is_ok());
                        pw_current.retain(|c| scheme_of(&pw_model, *c) != scheme);
                        pw_current.push(id);
                    }
                    None => assert_eq!(result.unwrap_err().violations()[0].field(), "publicKeyId"),
                }
            }
            6 => {
                let id = pair(arg).public_key_id();
                let removed = passwords.retire(id);
                let expected = !pw_current.contains(&id) && pw_model.iter().any(|(i, _)| *i == id);
                assert_eq!(removed, expected);
                if removed {
                    pw_model.retain(|(i, _)| *i != id);
                }
            }
            _ => {
                let text = if arg % 7 == 6 {
                    "N2M1OTJiMGEtMDJlZS00ZWU3LTkyYTEtNjA5YmI5NWE3ZWVh".to_owned()
                } else {
                    pair(arg).public_key_id().to_string()
                };
                let found = passwords.get(&text).map(PasswordKeyPair::public_key_id);
                match pw_model.iter().find(|(i, _)| i.to_string() == text) {
                    Some(&(id, _)) => assert_eq!(found.ok(), Some(id)),
                    None => {
                        let err = found.unwrap_err();
                        assert_eq!(err.violations()[0].field(), "publicKeyId");
                        assert_eq!(err.detail_code().http_status(), 400);
                    }
                }
            }
        }
        // The invariants after every step.
        assert_eq!(tokens.current().id(), token_current);
        assert_eq!(TokenKeys::current(&tokens).id(), token_current);
        for i in 0..6 {
            let id = token_key(i).id();
            assert_eq!(tokens.contains(id), token_model.contains(&id));
        }
        for scheme in [Scheme::Pkcs1v15, Scheme::OaepSha256, Scheme::OaepSha256Bound] {
            let expected = pw_current.iter().copied().find(|c| scheme_of(&pw_model, *c) == scheme);
            assert_eq!(passwords.current(scheme).map(PasswordKeyPair::public_key_id), expected);
        }
        let mut held: Vec<_> = passwords.pairs().map(PasswordKeyPair::public_key_id).collect();
        let mut model: Vec<_> = pw_model.iter().map(|(i, _)| *i).collect();
        held.sort();
        model.sort();
        assert_eq!(held, model);
    }
});

fn scheme_of(model: &[(PublicKeyId, Scheme)], id: PublicKeyId) -> Scheme {
    model
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, s)| *s)
        .expect("a current id is held")
}
