//! Store-level tests of the compare-and-set primitive under concurrency, on SQLite (in
//! memory, and a file with a pool of connections) and, when `DATABASE_URL` is set,
//! PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failed expectation is a failed test"
)]

mod common;

use std::sync::Arc;

use common::{Backend, postgres_url, store};
use password_mgmt_server::entropy::Entropy;
use password_mgmt_server::store::{
    Batch, CasWrite, Committed, Kind, MAX_CAS_ATTEMPTS, StateKey, Store,
};

fn all_backends() -> Vec<Backend> {
    let mut out = vec![Backend::SqliteMemory, Backend::SqliteFile];
    out.extend(postgres_url().map(Backend::Postgres));
    out
}

fn counter_key() -> StateKey {
    StateKey::new("acme", Kind::Counter, "hits")
}

/// One increment by compare-and-set, retried on conflict; returns the tries it took.
async fn increment(store: &dyn Store) -> usize {
    let key = counter_key();
    for attempt in 1..=MAX_CAS_ATTEMPTS * 8 {
        let current = store
            .read(std::slice::from_ref(&key))
            .await
            .unwrap()
            .remove(0);
        let value = current
            .as_deref()
            .map_or(0, |b| u64::from_be_bytes(b.try_into().unwrap()));
        let batch = Batch {
            writes: vec![CasWrite {
                key: key.clone(),
                expected: current,
                new: (value + 1).to_be_bytes().to_vec(),
            }],
            ..Batch::default()
        };
        if store.commit(&batch).await.unwrap() == Committed::Applied {
            return attempt;
        }
        tokio::task::yield_now().await;
    }
    panic!("no increment got through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_increments_lose_nothing() {
    for backend in all_backends() {
        let store = store(&backend, &mut Entropy::os()).await;
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { increment(&*store).await })
            })
            .collect();
        let mut tries = 0;
        for t in tasks {
            tries += t.await.unwrap();
        }
        let value = store
            .read(&[counter_key()])
            .await
            .unwrap()
            .remove(0)
            .unwrap();
        assert_eq!(
            u64::from_be_bytes(value.try_into().unwrap()),
            50,
            "{}",
            backend.name()
        );
        eprintln!(
            "{}: 50 increments took {tries} compare-and-set attempts",
            backend.name()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn insert_if_absent_has_one_winner() {
    for backend in all_backends() {
        let store = store(&backend, &mut Entropy::os()).await;
        let tasks: Vec<_> = (0..20u8)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let batch = Batch {
                        writes: vec![CasWrite {
                            key: StateKey::new("acme", Kind::User, "Abby.Smith"),
                            expected: None,
                            new: vec![i],
                        }],
                        ..Batch::default()
                    };
                    store.commit(&batch).await.unwrap()
                })
            })
            .collect();
        let mut winners = 0;
        for t in tasks {
            if t.await.unwrap() == Committed::Applied {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "{}", backend.name());
    }
}

#[tokio::test]
async fn a_batch_is_all_or_nothing() {
    for backend in all_backends() {
        let store = store(&backend, &mut Entropy::os()).await;
        let a = StateKey::new("acme", Kind::User, "a");
        let b = StateKey::new("acme", Kind::User, "b");
        let other_tenant = StateKey::new("globex", Kind::User, "a");
        let batch = Batch {
            writes: vec![
                CasWrite {
                    key: a.clone(),
                    expected: None,
                    new: b"a1".to_vec(),
                },
                CasWrite {
                    key: b.clone(),
                    expected: Some(b"not there".to_vec()),
                    new: b"b1".to_vec(),
                },
            ],
            ..Batch::default()
        };
        assert_eq!(store.commit(&batch).await.unwrap(), Committed::Conflict);
        assert_eq!(
            store.read(&[a.clone(), b.clone()]).await.unwrap(),
            vec![None, None],
            "{}",
            backend.name()
        );

        let batch = Batch {
            writes: vec![
                CasWrite {
                    key: a.clone(),
                    expected: None,
                    new: b"a1".to_vec(),
                },
                CasWrite {
                    key: b.clone(),
                    expected: None,
                    new: b"b1".to_vec(),
                },
            ],
            ..Batch::default()
        };
        assert_eq!(store.commit(&batch).await.unwrap(), Committed::Applied);
        let read = store
            .read(&[b.clone(), other_tenant.clone(), a.clone()])
            .await
            .unwrap();
        assert_eq!(
            read,
            vec![Some(b"b1".to_vec()), None, Some(b"a1".to_vec())],
            "in the order asked"
        );

        // A stale expectation fails; the current one succeeds.
        let stale = Batch {
            writes: vec![CasWrite {
                key: a.clone(),
                expected: Some(b"a0".to_vec()),
                new: b"a2".to_vec(),
            }],
            ..Batch::default()
        };
        assert_eq!(store.commit(&stale).await.unwrap(), Committed::Conflict);
        let fresh = Batch {
            writes: vec![CasWrite {
                key: a.clone(),
                expected: Some(b"a1".to_vec()),
                new: b"a2".to_vec(),
            }],
            ..Batch::default()
        };
        assert_eq!(store.commit(&fresh).await.unwrap(), Committed::Applied);
        assert_eq!(
            store.read(std::slice::from_ref(&a)).await.unwrap(),
            vec![Some(b"a2".to_vec())]
        );

        // An update that holds beside an insert that finds its row taken: neither is
        // applied (the update is undone with the statement or transaction).
        let half = Batch {
            writes: vec![
                CasWrite {
                    key: a.clone(),
                    expected: Some(b"a2".to_vec()),
                    new: b"a3".to_vec(),
                },
                CasWrite {
                    key: b.clone(),
                    expected: None,
                    new: b"b2".to_vec(),
                },
            ],
            ..Batch::default()
        };
        assert_eq!(store.commit(&half).await.unwrap(), Committed::Conflict);
        assert_eq!(
            store.read(&[a, b]).await.unwrap(),
            vec![Some(b"a2".to_vec()), Some(b"b1".to_vec())],
            "{}",
            backend.name()
        );
        store.ping().await.unwrap();
    }
}
