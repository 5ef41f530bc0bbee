//! The load's directory: one tenant, one source, `users` users with one account each, and
//! the OAuth clients; ids the load generator and the pgbench scripts compute alike.

use std::fmt::Write as _;

/// The tenant.
pub(crate) const TENANT: &str = "acme";
/// The one source of the load directory.
pub(crate) const SOURCE: &str = "2c918083746f642c01746f990884012a";
/// The OAuth client ids of the load generator start so (each also names a per-client
/// limiter row).
pub(crate) const CLIENT_ID: &str = "loadgen";

/// The OAuth client `i`.
pub(crate) fn client_id(i: usize) -> String {
    format!("{CLIENT_ID}-{i}")
}

/// The user name of user `i`.
pub(crate) fn user_name(i: usize) -> String {
    format!("u{i}")
}

/// The identity id of user `i` (32 hex digits, as the API's).
pub(crate) fn identity_id(i: usize) -> String {
    format!("1d{i:030x}")
}

/// The account id of user `i` on the source.
pub(crate) fn account_id(i: usize) -> String {
    format!("ac{i:030x}")
}

/// The directory file of `users` users, each with one account on the one source.
pub(crate) fn file(users: usize) -> String {
    let mut text = format!(
        "[[tenants]]\nname = \"{TENANT}\"\n\n[[tenants.sources]]\nid = \"{SOURCE}\"\n\
         name = \"Load-AD\"\npassword_enabled = true\n\
         policies = [\"passwordMinLength is 15\", \"passwordMaxLength is 64\"]\n"
    );
    for i in 0..users {
        let _ = write!(
            text,
            "\n[[tenants.identities]]\nid = \"{id}\"\nuser_name = \"{name}\"\n\
             display_name = \"Load User {i}\"\n\n[[tenants.accounts]]\nidentity = \"{id}\"\n\
             source = \"{SOURCE}\"\naccount_id = \"{account}\"\naccount_name = \"{name}\"\n",
            id = identity_id(i),
            name = user_name(i),
            account = account_id(i),
        );
    }
    text
}
