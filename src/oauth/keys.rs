//! The signing keys Keybroker holds for a server's credential, and the JWTs it signs
//! with them: client assertions (`private_key_jwt`, RFC 7523) and DPoP proofs (RFC 9449).
//!
//! One key type: ECDSA P-256 with SHA-256 (`ES256`), which every authorization server
//! that takes signed JWTs accepts. A private key exists only as PKCS#8 PEM inside the
//! server's keychain item (never in a file, a log or the state); Keybroker makes it
//! itself (`add --private-key-jwt`, `rotate-key`, a DPoP key per credential) or takes
//! one the authorization server issued (`--private-key-stdin`). What leaves is only the
//! public half (a JWK) and signatures.
//!
//! Not here: where a JWT is sent (`grants`, `flow`, the bridge): that is what keeps an
//! assertion to its issuer's token endpoint and a proof to the request it was made for.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::base::error::{Error, Result};

/// A P-256 signing key.
pub struct Key {
    key: SigningKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.thumbprint())
            .finish_non_exhaustive()
    }
}

fn bad_key(why: &str) -> Error {
    Error::other(
        format!("the private key is not usable: {why}"),
        "give an EC P-256 private key in PEM (PKCS#8 `BEGIN PRIVATE KEY` or SEC1 `BEGIN EC PRIVATE KEY`), or leave it out to have Keybroker make one",
    )
}

impl Key {
    /// A new key from the system's randomness.
    pub fn generate() -> Result<Key> {
        for _ in 0..8 {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| {
                Error::other(format!("no randomness available: {e}"), "report this bug")
            })?;
            let key = SigningKey::from_slice(&bytes);
            zeroize::Zeroize::zeroize(&mut bytes);
            // Out of range (probability about 2^-32): draw again.
            if let Ok(key) = key {
                return Ok(Key { key });
            }
        }
        Err(Error::other(
            "could not make a signing key",
            "report this bug",
        ))
    }

    /// A key from PEM: PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Key> {
        let pem = pem.trim();
        if pem.contains("BEGIN EC PRIVATE KEY") {
            let secret =
                p256::SecretKey::from_sec1_pem(pem).map_err(|_| bad_key("not a P-256 SEC1 key"))?;
            return Ok(Key {
                key: SigningKey::from(&secret),
            });
        }
        SigningKey::from_pkcs8_pem(pem)
            .map(|key| Key { key })
            .map_err(|_| bad_key("not a P-256 PKCS#8 key"))
    }

    /// The key as PKCS#8 PEM, for the keychain item.
    pub fn to_pem(&self) -> Result<String> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map(|p| p.to_string())
            .map_err(|e| Error::other(format!("cannot encode the key: {e}"), "report this bug"))
    }

    /// The public half as a JWK (no `d`), with its thumbprint as `kid`.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.bare_jwk();
        jwk["kid"] = Value::String(self.thumbprint());
        jwk["use"] = Value::String("sig".into());
        jwk["alg"] = Value::String("ES256".into());
        jwk
    }

    /// The public JWK with only its required members (what DPoP proofs embed).
    fn bare_jwk(&self) -> Value {
        let point = self.key.verifying_key().to_sec1_point(false);
        let enc = |b: Option<&[u8]>| URL_SAFE_NO_PAD.encode(b.unwrap_or_default());
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": enc(point.x().map(|a| a.as_slice())),
            "y": enc(point.y().map(|a| a.as_slice())),
        })
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key, base64url.
    pub fn thumbprint(&self) -> String {
        let jwk = self.bare_jwk();
        // The required members in lexicographic order, no whitespace.
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap_or_default(),
            jwk["y"].as_str().unwrap_or_default()
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// A compact JWS (`ES256`) over `claims` with `header` (its `alg` is set here).
    pub fn sign_jwt(&self, mut header: Value, claims: &Value) -> String {
        header["alg"] = Value::String("ES256".into());
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig: Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    /// A client assertion (RFC 7523 section 3, as RFC 7523bis has it): issued by and
    /// about the client, for the authorization server's `issuer`, valid two minutes.
    pub fn client_assertion(&self, client_id: &str, issuer: &str, now: i64) -> Result<String> {
        let claims = json!({
            "iss": client_id, "sub": client_id, "aud": issuer,
            "jti": super::flow::random_token(16)?, "iat": now, "exp": now + 120,
        });
        Ok(self.sign_jwt(json!({"typ": "JWT", "kid": self.thumbprint()}), &claims))
    }

    /// A DPoP proof for one request: `htm` and `htu` (the URL without query and
    /// fragment), `ath` for the access token it accompanies, the server's `nonce`.
    pub fn dpop_proof(
        &self,
        method: &str,
        url: &url::Url,
        access_token: Option<&str>,
        nonce: Option<&str>,
        now: i64,
    ) -> Result<String> {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let mut claims = json!({
            "jti": super::flow::random_token(16)?, "htm": method, "htu": htu.as_str(), "iat": now,
        });
        if let Some(t) = access_token {
            claims["ath"] = Value::String(URL_SAFE_NO_PAD.encode(Sha256::digest(t.as_bytes())));
        }
        if let Some(n) = nonce {
            claims["nonce"] = Value::String(n.to_string());
        }
        Ok(self.sign_jwt(json!({"typ": "dpop+jwt", "jwk": self.bare_jwk()}), &claims))
    }
}

/// A JWKS with one key, as printed for the user to register.
pub fn jwks(key: &Key) -> Value {
    json!({"keys": [key.public_jwk()]})
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;

    fn parts(jwt: &str) -> (Value, Value, Vec<u8>) {
        let p: Vec<&str> = jwt.split('.').collect();
        assert_eq!(p.len(), 3);
        let dec = |s: &str| URL_SAFE_NO_PAD.decode(s).expect("b64");
        (
            serde_json::from_slice(&dec(p[0])).expect("header"),
            serde_json::from_slice(&dec(p[1])).expect("claims"),
            dec(p[2]),
        )
    }

    fn verify(jwt: &str, jwk: &Value) {
        let dec = |k: &str| {
            URL_SAFE_NO_PAD
                .decode(jwk[k].as_str().expect(k))
                .expect("b64")
        };
        let mut sec1 = vec![4u8];
        sec1.extend(dec("x"));
        sec1.extend(dec("y"));
        let vk = VerifyingKey::from_sec1_bytes(&sec1).expect("public key");
        let (input, sig) = jwt.rsplit_once('.').expect("jws");
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).expect("b64")).expect("sig");
        vk.verify(input.as_bytes(), &sig)
            .expect("signature verifies");
    }

    #[test]
    fn a_generated_key_round_trips_through_pem_and_its_jwk_has_no_private_part() {
        let k = Key::generate().expect("key");
        let pem = k.to_pem().expect("pem");
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let again = Key::from_pem(&pem).expect("load");
        assert_eq!(again.thumbprint(), k.thumbprint());
        let jwk = k.public_jwk();
        assert!(jwk.get("d").is_none(), "{jwk}");
        assert_eq!(jwk["kid"], k.thumbprint());
        assert_ne!(Key::generate().expect("key").thumbprint(), k.thumbprint());
        assert!(!format!("{k:?}").contains("PRIVATE"));
    }

    #[test]
    fn thumbprints_match_the_rfc_7638_example_construction() {
        // RFC 7638 section 3.1 builds the thumbprint over the required members in
        // lexicographic order; recompute it from the JWK independently.
        let k = Key::generate().expect("key");
        let jwk = k.public_jwk();
        let canonical = serde_json::to_string(&json!({
            "crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"], "y": jwk["y"]
        }))
        .expect("json");
        assert_eq!(
            k.thumbprint(),
            URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
        );
    }

    #[test]
    fn a_client_assertion_is_signed_for_the_issuer_by_the_client() {
        let k = Key::generate().expect("key");
        let jwt = k
            .client_assertion("client-1", "https://as.example", 1_000)
            .expect("jwt");
        let (h, c, sig) = parts(&jwt);
        assert_eq!(h["alg"], "ES256");
        assert_eq!(h["kid"], k.thumbprint());
        assert_eq!(c["iss"], "client-1");
        assert_eq!(c["sub"], "client-1");
        assert_eq!(c["aud"], "https://as.example");
        assert_eq!(c["exp"], 1_120);
        assert!(c["jti"].as_str().is_some_and(|j| j.len() >= 16));
        assert_eq!(sig.len(), 64, "r || s, not DER");
        verify(&jwt, &k.public_jwk());
    }

    #[test]
    fn a_dpop_proof_names_the_request_binds_the_token_and_embeds_only_the_public_key() {
        let k = Key::generate().expect("key");
        let url = url::Url::parse("https://mcp.example/mcp?x=1#f").expect("url");
        let a = k
            .dpop_proof("POST", &url, Some("tok"), Some("n-1"), 5)
            .expect("proof");
        let b = k
            .dpop_proof("POST", &url, Some("tok"), None, 5)
            .expect("proof");
        let (h, c, _) = parts(&a);
        assert_eq!(h["typ"], "dpop+jwt");
        assert!(h["jwk"].get("d").is_none() && h["jwk"]["kty"] == "EC");
        assert_eq!(c["htm"], "POST");
        assert_eq!(c["htu"], "https://mcp.example/mcp", "no query or fragment");
        assert_eq!(c["nonce"], "n-1");
        assert_eq!(
            c["ath"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(b"tok")),
            "ath is the token's SHA-256"
        );
        assert_ne!(parts(&b).1["jti"], c["jti"], "a fresh jti per proof");
        verify(&a, &h["jwk"]);
    }

    #[test]
    fn pem_keys_from_an_authorization_server_are_taken_in_pkcs8_and_sec1() {
        let k = Key::generate().expect("key");
        let sec1 = p256::SecretKey::from_slice(&k.key.to_bytes())
            .expect("secret")
            .to_sec1_pem(LineEnding::LF)
            .expect("sec1");
        assert_eq!(
            Key::from_pem(&sec1).expect("sec1").thumbprint(),
            k.thumbprint()
        );
        assert!(
            Key::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err()
        );
        assert!(Key::from_pem("not a key").is_err());
    }
}
