//! Keystone v3 tokens for Ironic: an application credential or a password, exchanged at
//! `POST /v3/auth/tokens` for the `X-Subject-Token` that Ironic accepts as
//! `X-Auth-Token`. The token is cached until Ironic answers 401, then fetched again.

use serde_json::{json, Value};

/// What the appliance authenticates with.
#[derive(Debug, Clone)]
pub enum Credential {
    /// An application credential (`openstack application credential create`): scoped
    /// already, the usual choice for a service.
    ApplicationCredential { id: String, secret: String },
    /// A user's password, scoped to a project.
    Password { user: String, user_domain: String, password: String, project: String, project_domain: String },
}

impl Credential {
    /// The body of `POST /v3/auth/tokens` for this credential.
    pub fn request_body(&self) -> Value {
        match self {
            Credential::ApplicationCredential { id, secret } => json!({
                "auth": {"identity": {
                    "methods": ["application_credential"],
                    "application_credential": {"id": id, "secret": secret}
                }}
            }),
            Credential::Password { user, user_domain, password, project, project_domain } => json!({
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {"user": {"name": user, "domain": {"name": user_domain}, "password": password}}
                    },
                    "scope": {"project": {"name": project, "domain": {"name": project_domain}}}
                }
            }),
        }
    }
}

/// `…/v3/auth/tokens` for an auth URL given with or without its `/v3`.
pub fn tokens_url(auth_url: &str) -> String {
    let base = auth_url.trim_end_matches('/');
    if base.ends_with("/v3") {
        format!("{base}/auth/tokens")
    } else {
        format!("{base}/v3/auth/tokens")
    }
}

/// A token source with its cache.
#[derive(Clone)]
pub struct Keystone {
    tokens_url: String,
    credential: Credential,
    token: Option<String>,
}

impl Keystone {
    /// Tokens from the Keystone at `auth_url` for `credential`.
    pub fn new(auth_url: &str, credential: Credential) -> Self {
        Keystone { tokens_url: tokens_url(auth_url), credential, token: None }
    }

    /// The cached token, or a new one.
    pub fn token(&mut self, agent: &ureq::Agent) -> Result<&str, String> {
        if self.token.is_none() {
            self.token = Some(self.issue(agent)?);
        }
        Ok(self.token.as_deref().unwrap_or_default())
    }

    /// Drops the cached token (Ironic refused it).
    pub fn forget(&mut self) {
        self.token = None;
    }

    fn issue(&self, agent: &ureq::Agent) -> Result<String, String> {
        let body = self.credential.request_body().to_string();
        let response = agent
            .post(&self.tokens_url)
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .map_err(|error| format!("{}: {error}", self.tokens_url))?;
        let status = response.status().as_u16();
        let token = response.headers().get("X-Subject-Token").and_then(|value| value.to_str().ok());
        subject_token(status, token).map_err(|error| format!("{}: {error}", self.tokens_url))
    }
}

/// The token of Keystone's answer: `201 Created` with a non-empty `X-Subject-Token`.
pub fn subject_token(status: u16, header: Option<&str>) -> Result<String, String> {
    match (status, header) {
        (201, Some(token)) if !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()) => Ok(token.to_owned()),
        (201, _) => Err("201 without a usable X-Subject-Token".into()),
        (status, _) => Err(format!("HTTP {status}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn application_credential_body_is_keystones_shape() {
        let credential = Credential::ApplicationCredential { id: "abc".into(), secret: "s3cret".into() };
        let body = credential.request_body();
        assert_eq!(body["auth"]["identity"]["methods"], json!(["application_credential"]));
        assert_eq!(body["auth"]["identity"]["application_credential"], json!({"id": "abc", "secret": "s3cret"}));
        assert!(body["auth"].get("scope").is_none(), "an application credential carries its own scope");
    }

    #[test]
    fn password_body_names_user_and_project_with_their_domains() {
        let credential = Credential::Password {
            user: "ironic-pxe".into(),
            user_domain: "Default".into(),
            password: "pw".into(),
            project: "service".into(),
            project_domain: "Default".into(),
        };
        let body = credential.request_body();
        let user = &body["auth"]["identity"]["password"]["user"];
        assert_eq!(user["name"], "ironic-pxe");
        assert_eq!(user["domain"]["name"], "Default");
        assert_eq!(user["password"], "pw");
        assert_eq!(body["auth"]["scope"]["project"], json!({"name": "service", "domain": {"name": "Default"}}));
    }

    #[test]
    fn tokens_url_with_or_without_v3() {
        assert_eq!(tokens_url("https://ks:5000"), "https://ks:5000/v3/auth/tokens");
        assert_eq!(tokens_url("https://ks:5000/v3/"), "https://ks:5000/v3/auth/tokens");
        assert_eq!(tokens_url("https://ks/identity/v3"), "https://ks/identity/v3/auth/tokens");
    }

    #[test]
    fn only_a_201_with_a_token_gives_one() {
        assert_eq!(subject_token(201, Some("gAAAAB-x")), Ok("gAAAAB-x".to_owned()));
        assert!(subject_token(201, None).is_err());
        assert!(subject_token(201, Some("")).is_err());
        assert!(subject_token(201, Some("a\r\nb")).is_err(), "a token must be safe to send as a header");
        assert_eq!(subject_token(401, Some("x")), Err("HTTP 401".to_owned()));
    }
}
