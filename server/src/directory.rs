//! Identities, sources (with their policy lines) and accounts, per tenant.
//!
//! A directory file (TOML) is validated as a whole on load: unknown source or identity
//! references, duplicate ids or names, and policy lines the crate cannot parse are errors
//! naming the tenant, the item and the line. `import` stores each tenant's part in the
//! database, so that every node serves the same directory; each node keeps it in memory
//! (it is small, read on every request, and changes only by a new import and a restart).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use password_mgmt::PasswordPolicy;
use serde::{Deserialize, Serialize};

/// A directory file: `[[tenants]]`, each with its `sources`, `identities` and `accounts`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryFile {
    /// The tenants.
    #[serde(default)]
    pub tenants: Vec<TenantDirectory>,
}

/// One tenant's part of the directory, as written in the file and stored by `import`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantDirectory {
    /// The tenant: the `org` claim of its bearer tokens.
    pub name: String,
    /// Its sources.
    #[serde(default)]
    pub sources: Vec<Source>,
    /// Its identities.
    #[serde(default)]
    pub identities: Vec<Identity>,
    /// Its accounts.
    #[serde(default)]
    pub accounts: Vec<Account>,
}

/// A source (an account store such as Active Directory).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// `sourceId`.
    pub id: String,
    /// `sourceName`, e.g. `My-AD`.
    pub name: String,
    /// The `PASSWORD` feature: whether passwords may be set on this source.
    #[serde(default = "yes")]
    pub password_enabled: bool,
    /// The policy lines (`passwordMinLength is 15`), as query-password-info answers them.
    #[serde(default)]
    pub policies: Vec<String>,
}

const fn yes() -> bool {
    true
}

/// An identity (a person).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// `identityId`.
    pub id: String,
    /// The user name (`userName`, `userId`), e.g. `Abby.Smith`.
    pub user_name: String,
    /// The display name, e.g. `Abby Smith` (policy context).
    pub display_name: String,
}

/// An account of an identity on a source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The identity's `id`.
    pub identity: String,
    /// The source's `id`.
    pub source: String,
    /// `accountId`, e.g. a distinguished name.
    pub account_id: String,
    /// `accountName`.
    pub account_name: String,
}

/// A directory problem, naming the tenant, the item and the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryError(String);

impl fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DirectoryError {}

fn err(message: String) -> DirectoryError {
    DirectoryError(message)
}

/// A validated source with its parsed policy.
#[derive(Clone, Debug)]
pub struct SourceEntry {
    /// The source as written.
    pub source: Source,
    /// Its policy.
    pub policy: PasswordPolicy,
}

/// One tenant's validated directory, indexed.
#[derive(Clone, Debug)]
pub struct Tenant {
    document: TenantDirectory,
    sources: Vec<SourceEntry>,
    source_by_id: HashMap<String, usize>,
    source_by_name: HashMap<String, usize>,
    identity_by_id: HashMap<String, usize>,
    identity_by_name: HashMap<String, usize>,
}

impl Tenant {
    /// Validates one tenant's directory.
    ///
    /// # Errors
    /// [`DirectoryError`] for an empty name, duplicate ids or names, an account naming an
    /// unknown identity or source, a duplicate account, or a policy line that does not
    /// parse (quoting the line).
    pub fn new(document: TenantDirectory) -> Result<Self, DirectoryError> {
        let t = document.name.clone();
        if t.trim().is_empty() {
            return Err(err("a tenant has an empty name".into()));
        }
        let mut sources = Vec::new();
        let mut source_by_id = HashMap::new();
        let mut source_by_name = HashMap::new();
        for (i, source) in document.sources.iter().enumerate() {
            if source.id.is_empty() || source.name.is_empty() {
                return Err(err(format!(
                    "tenant {t}: source #{} has an empty id or name",
                    i + 1
                )));
            }
            if source_by_id.insert(source.id.clone(), i).is_some() {
                return Err(err(format!(
                    "tenant {t}: source id {} is used twice",
                    source.id
                )));
            }
            if source_by_name.insert(source.name.clone(), i).is_some() {
                return Err(err(format!(
                    "tenant {t}: source name {} is used twice",
                    source.name
                )));
            }
            let policy = PasswordPolicy::from_lines(&source.policies).map_err(|e| {
                err(format!(
                    "tenant {t}: source {}: policy refused: {e}",
                    source.name
                ))
            })?;
            sources.push(SourceEntry {
                source: source.clone(),
                policy,
            });
        }
        let mut identity_by_id = HashMap::new();
        let mut identity_by_name = HashMap::new();
        for (i, identity) in document.identities.iter().enumerate() {
            if identity.id.is_empty() || identity.user_name.is_empty() {
                return Err(err(format!(
                    "tenant {t}: identity #{} has an empty id or user_name",
                    i + 1
                )));
            }
            if identity_by_id.insert(identity.id.clone(), i).is_some() {
                return Err(err(format!(
                    "tenant {t}: identity id {} is used twice",
                    identity.id
                )));
            }
            if identity_by_name
                .insert(identity.user_name.clone(), i)
                .is_some()
            {
                return Err(err(format!(
                    "tenant {t}: user_name {} is used twice",
                    identity.user_name
                )));
            }
        }
        let mut seen = BTreeMap::new();
        for account in &document.accounts {
            if !identity_by_id.contains_key(&account.identity) {
                return Err(err(format!(
                    "tenant {t}: account {} names unknown identity {}",
                    account.account_id, account.identity
                )));
            }
            if !source_by_id.contains_key(&account.source) {
                return Err(err(format!(
                    "tenant {t}: account {} names unknown source {}",
                    account.account_id, account.source
                )));
            }
            if account.account_id.is_empty() {
                return Err(err(format!(
                    "tenant {t}: an account has an empty account_id"
                )));
            }
            if seen
                .insert((account.source.clone(), account.account_id.clone()), ())
                .is_some()
            {
                return Err(err(format!(
                    "tenant {t}: account {} appears twice on source {}",
                    account.account_id, account.source
                )));
            }
        }
        Ok(Self {
            document,
            sources,
            source_by_id,
            source_by_name,
            identity_by_id,
            identity_by_name,
        })
    }

    /// The tenant's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.document.name
    }

    /// The document this tenant was built from (what `import` stores).
    #[must_use]
    pub const fn document(&self) -> &TenantDirectory {
        &self.document
    }

    /// The identity with this user name.
    #[must_use]
    pub fn identity_by_user_name(&self, user_name: &str) -> Option<&Identity> {
        self.identity_by_name
            .get(user_name)
            .and_then(|&i| self.document.identities.get(i))
    }

    /// The identity with this id.
    #[must_use]
    pub fn identity(&self, id: &str) -> Option<&Identity> {
        self.identity_by_id
            .get(id)
            .and_then(|&i| self.document.identities.get(i))
    }

    /// Every source, in the file's order.
    pub fn sources(&self) -> impl Iterator<Item = &SourceEntry> {
        self.sources.iter()
    }

    /// The source with this name.
    #[must_use]
    pub fn source_by_name(&self, name: &str) -> Option<&SourceEntry> {
        self.source_by_name
            .get(name)
            .and_then(|&i| self.sources.get(i))
    }

    /// The source with this id.
    #[must_use]
    pub fn source(&self, id: &str) -> Option<&SourceEntry> {
        self.source_by_id.get(id).and_then(|&i| self.sources.get(i))
    }

    /// The accounts of `identity` on `source`.
    pub fn accounts<'a>(
        &'a self,
        identity: &'a str,
        source: &'a str,
    ) -> impl Iterator<Item = &'a Account> + 'a {
        self.document
            .accounts
            .iter()
            .filter(move |a| a.identity == identity && a.source == source)
    }

    /// The accounts of `identity` on any source.
    pub fn accounts_of<'a>(&'a self, identity: &'a str) -> impl Iterator<Item = &'a Account> + 'a {
        self.document
            .accounts
            .iter()
            .filter(move |a| a.identity == identity)
    }
}

/// Every tenant's validated directory.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    tenants: HashMap<String, Tenant>,
}

impl Directory {
    /// Validates every tenant of a parsed file.
    ///
    /// # Errors
    /// As [`Tenant::new`], and for a tenant named twice.
    pub fn from_file_contents(file: DirectoryFile) -> Result<Self, DirectoryError> {
        let mut tenants = HashMap::new();
        for document in file.tenants {
            let tenant = Tenant::new(document)?;
            let name = tenant.name().to_owned();
            if tenants.insert(name.clone(), tenant).is_some() {
                return Err(err(format!("tenant {name} appears twice")));
            }
        }
        Ok(Self { tenants })
    }

    /// Parses and validates TOML text.
    ///
    /// # Errors
    /// [`DirectoryError`] for invalid TOML (with the line) or as
    /// [`from_file_contents`](Self::from_file_contents).
    pub fn from_toml(text: &str) -> Result<Self, DirectoryError> {
        let file: DirectoryFile =
            toml::from_str(text).map_err(|e| err(format!("directory is not valid: {e}")))?;
        Self::from_file_contents(file)
    }

    /// Reads, parses and validates a directory file.
    ///
    /// # Errors
    /// [`DirectoryError`] when the file cannot be read, or as [`from_toml`](Self::from_toml).
    pub fn load(path: &Path) -> Result<Self, DirectoryError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            err(format!(
                "cannot read directory file {}: {e}",
                path.display()
            ))
        })?;
        Self::from_toml(&text).map_err(|e| err(format!("{}: {e}", path.display())))
    }

    /// Builds a directory from tenants already validated or stored.
    ///
    /// # Errors
    /// As [`Tenant::new`].
    pub fn from_documents(
        documents: impl IntoIterator<Item = TenantDirectory>,
    ) -> Result<Self, DirectoryError> {
        Self::from_file_contents(DirectoryFile {
            tenants: documents.into_iter().collect(),
        })
    }

    /// The tenant with this name.
    #[must_use]
    pub fn tenant(&self, name: &str) -> Option<&Tenant> {
        self.tenants.get(name)
    }

    /// All tenants.
    pub fn tenants(&self) -> impl Iterator<Item = &Tenant> {
        self.tenants.values()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    const SAMPLE: &str = include_str!("../directory.sample.toml");

    #[test]
    fn the_sample_loads_and_meets_nist() {
        let d = Directory::from_toml(SAMPLE).unwrap();
        let acme = d.tenant("acme").unwrap();
        let abby = acme.identity_by_user_name("Abby.Smith").unwrap();
        let ad = acme.source_by_name("My-AD").unwrap();
        // Short of NIST SP 800-63B-4 only in the blocklist, which only a server can check.
        assert_eq!(
            ad.policy
                .weaker_than_nist(password_mgmt::PasswordUse::SingleFactor),
            [password_mgmt::NistGap::NoBlocklistCheck]
        );
        assert!(acme.accounts(&abby.id, &ad.source.id).count() >= 1);
    }

    #[test]
    fn bad_references_and_lines_are_named() {
        let bad = SAMPLE.replace("passwordMinLength is 15", "passwordMinLength is many");
        let e = Directory::from_toml(&bad).unwrap_err().to_string();
        assert!(e.contains("passwordMinLength is many"), "{e}");

        let bad = format!(
            "{SAMPLE}\n[[tenants.accounts]]\nidentity = \"nobody\"\nsource = \"x\"\naccount_id = \"a\"\naccount_name = \"a\"\n"
        );
        let e = Directory::from_toml(&bad).unwrap_err().to_string();
        assert!(e.contains("unknown identity nobody"), "{e}");
    }
}
