//! The `--ironic-auth keystone` part of `cargo xtask ironic-source`: a real Keystone 30
//! (its own venv), and a second Ironic 39 with `auth_strategy = keystone` validating
//! every token with it:
//!
//! - a password scoped to the service project: synced; the user's tokens then revoked
//!   in Keystone (a password update does that), Ironic refuses the old token, and the
//!   appliance's next poll takes a new one and sees a node enrolled meanwhile;
//! - an application credential made through Keystone's API: synced;
//! - a wrong password: Keystone's 401, said once across retries.
//!
//! Keystone, Ironic and each appliance are stopped by their own IDs on every path.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use super::api::Api;
use super::checks::Appliance;
use super::keystone::{project_scope, Keystone};
use super::server::{Ironic, IronicDir, KeystoneService};

const SERVICE_PROJECT: &str = "service";
const IRONIC_PASSWORD: &str = "loopback-only-ironic";
const APPLIANCE_USER: &str = "ipxe-config";
const APPLIANCE_PASSWORD: &str = "loopback-only-appliance";

fn id(value: &serde_json::Value, kind: &str) -> Result<String, String> {
    value[kind]["id"].as_str().map(str::to_owned).ok_or_else(|| format!("no {kind} id in {value}"))
}

/// Keystone's users and roles for the test: Ironic's service user and the appliance's
/// user, both with the `service` role in the service project. Returns the appliance
/// user's ID.
fn enroll_users(keystone: &Keystone, admin: &str) -> Result<String, String> {
    let project = id(
        &keystone.post("/projects", admin, &json!({"project": {"name": SERVICE_PROJECT, "domain_id": "default"}}))?,
        "project",
    )?;
    let roles = keystone.call("GET", "/roles?name=service", admin, None)?;
    let role = roles["roles"][0]["id"].as_str().ok_or_else(|| format!("no `service` role: {roles}"))?.to_owned();
    let mut appliance = String::new();
    for (name, password) in [("ironic", IRONIC_PASSWORD), (APPLIANCE_USER, APPLIANCE_PASSWORD)] {
        let user = id(
            &keystone.post(
                "/users",
                admin,
                &json!({"user": {"name": name, "password": password, "domain_id": "default"}}),
            )?,
            "user",
        )?;
        keystone.call("PUT", &format!("/projects/{project}/users/{user}/roles/{role}"), admin, None)?;
        appliance = user;
    }
    Ok(appliance)
}

pub fn run(dir: &Path) -> Result<(), String> {
    let started = Instant::now();
    let keystone = Keystone::start(&dir.join("keystone"))?;
    let admin = keystone.admin_token()?;
    let appliance_user = enroll_users(&keystone, &admin)?;
    let ironic = Ironic::start(IronicDir {
        root: dir.join("ironic-keystone"),
        http_root: dir.join("http-root-keystone"),
        database: dir.join("ironic-keystone/ironic.sqlite"),
        file_roots: vec![dir.to_path_buf()],
        tls: None,
        keystone: Some(KeystoneService {
            url: keystone.url(),
            user: "ironic".into(),
            password: IRONIC_PASSWORD.into(),
            project: SERVICE_PROJECT.into(),
        }),
    })?;
    println!("ironic-source: Keystone and a Keystone-auth Ironic up in {:.1} s", started.elapsed().as_secs_f64());
    let api = Api::with_token(&ironic.url(), &admin);
    let node = |name: &str| {
        json!({"name": name, "driver": "fake-hardware", "boot_interface": "ipxe",
               "driver_info": {"deploy_kernel": "http://10.99.0.1/k", "deploy_ramdisk": "http://10.99.0.1/r"}})
    };
    api.enroll(&node("keystone-node-1"), "52:54:00:00:00:51")?;
    let write = |name: &str, text: &str| -> Result<String, String> {
        let path = dir.join(name);
        fs::write(&path, format!("{text}\n")).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path.display().to_string())
    };
    let base = |extra: &[String]| -> Vec<String> {
        ["--ironic-url", &ironic.url(), "--ironic-auth", "keystone", "--keystone-url", &keystone.url()]
            .iter()
            .map(|s| (*s).to_owned())
            .chain(extra.iter().cloned())
            .collect()
    };
    let password_args = |file: String| -> Vec<String> {
        base(&[
            "--keystone-username".into(),
            APPLIANCE_USER.into(),
            "--keystone-password-file".into(),
            file,
            "--keystone-project".into(),
            SERVICE_PROJECT.into(),
            "--keystone-user-domain".into(),
            "Default".into(),
            "--keystone-project-domain".into(),
            "Default".into(),
        ])
    };

    // A password: synced. The poll interval leaves time for the revocation below to
    // settle before the appliance's next poll (Keystone also refuses tokens issued just
    // after a revocation, within its second), so that its renewed token is a good one.
    let mut args = password_args(write("keystone-password", APPLIANCE_PASSWORD)?);
    args.extend(["--ironic-poll-ms".into(), "6000".into()]);
    let mut by_password = Appliance::start(dir, "keystone-password", &args)?;
    by_password.wait_for("inventory synced from Ironic (full sync of 1 nodes", Duration::from_secs(30))?;
    let (old_token, _) = keystone.password_token(APPLIANCE_USER, APPLIANCE_PASSWORD, project_scope(SERVICE_PROJECT))?;
    // Updating the password (to the same one) revokes every token the user holds.
    keystone.call(
        "PATCH",
        &format!("/users/{appliance_user}"),
        &admin,
        Some(&json!({"user": {"password": APPLIANCE_PASSWORD}})),
    )?;
    match Api::with_token(&ironic.url(), &old_token).get("/v1/nodes") {
        Err(error) if error.contains("HTTP 401") => {}
        other => return Err(format!("Ironic still takes a revoked token: {other:?}")),
    }
    let settled = Instant::now() + Duration::from_secs(4);
    loop {
        let (fresh, _) = keystone.password_token(APPLIANCE_USER, APPLIANCE_PASSWORD, project_scope(SERVICE_PROJECT))?;
        match Api::with_token(&ironic.url(), &fresh).get("/v1/nodes") {
            Ok(_) => break,
            Err(error) if Instant::now() > settled => {
                return Err(format!("no new token works after the revocation: {error}"))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
    api.enroll(&node("keystone-node-2"), "52:54:00:00:00:52")?;
    // The next poll (its old token refused, a new one taken) finds the new node's port.
    let deadline = Instant::now() + Duration::from_secs(20);
    while by_password.count("inventory synced from Ironic") < 2 {
        if Instant::now() > deadline {
            return Err(format!("after the revocation no poll synced:\n{}", by_password.log()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if by_password.count("ironic: sync failed") != 0 {
        return Err(format!("a revoked token made a sync fail:\n{}", by_password.log()));
    }
    drop(by_password);
    println!("ironic-source: keystone password: synced; token revoked, renewed on Ironic's 401, next poll synced");

    // An application credential the appliance's user makes for itself.
    let (user_token, _) =
        keystone.password_token(APPLIANCE_USER, APPLIANCE_PASSWORD, project_scope(SERVICE_PROJECT))?;
    let credential = keystone.post(
        &format!("/users/{appliance_user}/application_credentials"),
        &user_token,
        &json!({"application_credential": {"name": "ipxe-config-appliance"}}),
    )?;
    let credential_id = id(&credential, "application_credential")?;
    let secret = credential["application_credential"]["secret"].as_str().ok_or("no application credential secret")?;
    let mut by_credential = Appliance::start(
        dir,
        "keystone-appcred",
        &base(&[
            "--keystone-application-credential-id".into(),
            credential_id,
            "--keystone-application-credential-secret-file".into(),
            write("keystone-appcred-secret", secret)?,
        ]),
    )?;
    by_credential.wait_for("inventory synced from Ironic (full sync of 2 nodes", Duration::from_secs(30))?;
    drop(by_credential);
    println!("ironic-source: keystone application credential: synced");

    // A wrong password: Keystone's 401, said once across retries.
    let mut refused = Appliance::start(dir, "keystone-refused", &password_args(write("keystone-wrong", "not-it")?))?;
    let line = refused.wait_for("ironic: sync failed", Duration::from_secs(30))?;
    if !line.contains("no Keystone token") || !line.contains("HTTP 401") {
        return Err(format!("a wrong Keystone password is not reported as Keystone's 401: {line}"));
    }
    std::thread::sleep(Duration::from_millis(1500));
    if refused.count("ironic: sync failed") != 1 {
        return Err(format!("the Keystone 401 was logged more than once:\n{}", refused.log()));
    }
    println!("ironic-source: keystone wrong password: {line}");
    drop(refused);
    println!("ironic-source: the Keystone checks took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
