//! An organisation's IdP, set up once (`keybroker idp add`): servers added with `--idp`
//! then get their tokens by token exchange at it (enterprise-managed authorization,
//! [`crate::oauth::idp`]), with no browser trip per server.
//!
//! The record goes to the keychain; the state file lists a credential of kind `idp` so
//! `keybroker idp list` and the audit can name it. No ID token or secret is written
//! anywhere else.

use crate::base::error::{Error, Result};
use crate::base::paths::Paths;
use crate::base::secret::Secret;
use crate::oauth::idp::{self, Idp, Login};
use crate::store::audit::{AuditLog, Event, EventKind, Outcome};
use crate::store::state::{Credential, State};
use crate::store::vault::Vault;

pub struct AddIdp<'a> {
    pub name: &'a str,
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub client_secret: Option<Secret>,
    pub id_token: Option<Secret>,
    /// Replace an IdP of the same name (a new ID token, a new client).
    pub replace: bool,
    pub now: &'a str,
}

/// An IdP as `keybroker idp list` shows it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpInfo {
    pub name: String,
    pub label: String,
}

/// Look the IdP up, store its record, list it; returns its token endpoint.
pub fn add(req: &AddIdp<'_>, paths: &Paths, vault: &Vault, audit: &AuditLog) -> Result<String> {
    let name = req.name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::other(
            format!("`{name}` is not a usable IdP name"),
            "use letters, digits, - and _",
        ));
    }
    let cred = idp::credential_id(name);
    if !req.replace && State::load(paths)?.credentials.contains_key(&cred) {
        return Err(Error::other(
            format!("there is already an IdP `{name}`"),
            "pass --replace to set it up again",
        ));
    }
    let record: Idp = idp::discover(
        name,
        req.issuer.trim(),
        req.client_id,
        req.client_secret.as_ref(),
        req.id_token.as_ref(),
    )?;
    idp::save(vault, &record)?;
    State::update(paths, |s| {
        let c = s.credentials.entry(cred.clone()).or_insert(Credential {
            id: cred.clone(),
            kind: "idp".into(),
            label: String::new(),
            created: req.now.to_string(),
            rotated: None,
        });
        c.label = format!("IdP {name} ({})", record.issuer);
        if req.replace {
            c.rotated = Some(req.now.to_string());
        }
        Ok(())
    })?;
    audit.append(vec![
        Event::new(EventKind::Stored, Outcome::Ok, req.now)
            .credential(&cred)
            .process(std::process::id(), None, None)
            .detail(format!(
                "IdP {name} ({}) set up for enterprise-managed authorization{}",
                record.issuer,
                if record.id_token.is_some() {
                    ", with an ID token"
                } else {
                    ""
                }
            )),
    ])?;
    Ok(record.token_endpoint)
}

pub fn list(paths: &Paths) -> Result<Vec<IdpInfo>> {
    Ok(State::load(paths)?
        .credentials
        .values()
        .filter(|c| c.kind == "idp")
        .map(|c| IdpInfo {
            name: c.id.trim_start_matches("idp-").to_string(),
            label: c.label.clone(),
        })
        .collect())
}

/// Forget IdP `name` (keychain item and listing). `false`: there was none.
pub fn remove(
    paths: &Paths,
    vault: &Vault,
    audit: &AuditLog,
    name: &str,
    now: &str,
) -> Result<bool> {
    let cred = idp::credential_id(name);
    let had_item = vault.delete(&cred)?;
    let mut listed = false;
    State::update(paths, |s| {
        listed = s.credentials.remove(&cred).is_some();
        Ok(())
    })?;
    if had_item || listed {
        audit.append(vec![
            Event::new(EventKind::Deleted, Outcome::Ok, now)
                .credential(&cred)
                .process(std::process::id(), None, None)
                .detail(format!("IdP {name} removed")),
        ])?;
    }
    Ok(had_item || listed)
}

/// Sign in to IdP `name` in the browser (`keybroker idp login`): its ID token and refresh
/// token go into its keychain item, and from then on an ID token that runs out is renewed
/// without a browser. Returns what to tell the user.
pub fn login(
    vault: &Vault,
    audit: &AuditLog,
    name: &str,
    how: &Login<'_>,
    now: &str,
) -> Result<String> {
    let mut record = idp::load(vault, name)?;
    let clock = crate::base::clock::unix_now;
    idp::login(&mut record, how, &clock)?;
    idp::save(vault, &record)?;
    let renews = if record.refresh_token.is_some() {
        "renewed with its refresh token when it runs out"
    } else {
        "not renewable: the IdP issued no refresh token, so sign in again when it runs out"
    };
    audit.append(vec![
        Event::new(EventKind::Authorized, Outcome::Ok, now)
            .credential(idp::credential_id(name))
            .process(std::process::id(), None, None)
            .detail(format!("signed in to IdP {name} ({})", record.issuer)),
    ])?;
    Ok(format!(
        "signed in to IdP {name}: the ID token is in the keychain, {renews}"
    ))
}
