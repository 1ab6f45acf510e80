//! From the command line to a running sync thread: credentials read from their files,
//! the first full sync (start-up waits for it), then the thread.

use std::path::Path;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::Duration;

use super::client::{self, Auth, IronicClient};
use super::keystone::{Credential, Keystone};
use super::sync::{Filters, Paging};
use super::worker::{Build, Schedule, SyncStats, Syncer, Update};
use crate::cli::{AuthArg, IronicArgs};
use crate::reload::Loaded;
use crate::signals;

/// A running Ironic source: the inventory of the first sync, and the channel of later ones.
pub struct IronicSource {
    pub first: Loaded,
    pub report: String,
    pub updates: Receiver<Update>,
    pub stats: Arc<SyncStats>,
}

/// A secret from its file: the first line, without its line ending.
fn secret(path: &Path, what: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("{what} {}: {error}", path.display()))?;
    let line = text.lines().next().unwrap_or_default().to_owned();
    if line.is_empty() {
        return Err(format!("{what} {} is empty", path.display()));
    }
    Ok(line)
}

fn auth(args: &IronicArgs) -> Result<Auth, String> {
    match args.ironic_auth {
        AuthArg::None => Ok(Auth::None),
        AuthArg::HttpBasic => {
            let user = args.ironic_user.as_deref().ok_or("--ironic-auth http-basic needs --ironic-user")?;
            let file =
                args.ironic_password_file.as_deref().ok_or("--ironic-auth http-basic needs --ironic-password-file")?;
            Ok(Auth::basic(user, &secret(file, "--ironic-password-file")?))
        }
        AuthArg::Keystone => {
            let url = args.keystone_url.as_deref().ok_or("--ironic-auth keystone needs --keystone-url")?;
            let credential = match (&args.keystone_application_credential_id, &args.keystone_username) {
                (Some(id), None) => {
                    let file = args.keystone_application_credential_secret_file.as_deref().ok_or(
                        "--keystone-application-credential-id needs --keystone-application-credential-secret-file",
                    )?;
                    Credential::ApplicationCredential {
                        id: id.clone(),
                        secret: secret(file, "--keystone-application-credential-secret-file")?,
                    }
                }
                (None, Some(user)) => {
                    let file = args
                        .keystone_password_file
                        .as_deref()
                        .ok_or("--keystone-username needs --keystone-password-file")?;
                    Credential::Password {
                        user: user.clone(),
                        user_domain: args.keystone_user_domain.clone(),
                        password: secret(file, "--keystone-password-file")?,
                        project: args.keystone_project.clone().ok_or("--keystone-username needs --keystone-project")?,
                        project_domain: args.keystone_project_domain.clone(),
                    }
                }
                _ => {
                    return Err(
                        "--ironic-auth keystone needs --keystone-application-credential-id or --keystone-username"
                            .into(),
                    )
                }
            };
            Ok(Auth::Keystone(Box::new(Keystone::new(url, credential))))
        }
    }
}

/// Connects, syncs once (retrying until Ironic answers or a stop signal), and starts the
/// thread that keeps the inventory fresh.
pub fn start(url: &str, args: &IronicArgs, build: Build) -> Result<IronicSource, String> {
    let ca = match &args.ironic_ca {
        Some(path) => Some(std::fs::read(path).map_err(|error| format!("--ironic-ca {}: {error}", path.display()))?),
        None => None,
    };
    let agent = client::agent(ca.as_deref(), Duration::from_millis(args.ironic_timeout_ms))
        .map_err(|error| format!("--ironic-ca: {error}"))?;
    let client = IronicClient::new(agent, url, auth(args)?);
    let page = usize::try_from(args.ironic_page_size).unwrap_or(usize::MAX);
    let schedule = Schedule {
        poll_every: Duration::from_millis(args.ironic_poll_ms),
        full_every: Duration::from_secs(args.ironic_full_sync_seconds),
        retry_every: Duration::from_millis(args.ironic_retry_ms),
        paging: Paging { full: page, poll: 20, poll_pages: 5 },
        filters: Filters { conductor_group: args.conductor_group.clone(), shard: args.shard.clone() },
    };
    let stats = Arc::new(SyncStats::default());
    let mut syncer = Syncer::new(client, schedule, build, Arc::clone(&stats));
    let first = loop {
        if signals::stop_requested() {
            return Err("stopped before the first sync with Ironic".into());
        }
        match syncer.round() {
            (Some(update), _) => break update,
            (None, pause) => std::thread::sleep(pause),
        }
    };
    let (sender, updates) = mpsc::channel();
    std::thread::Builder::new()
        .name("ironic-sync".into())
        .spawn(move || syncer.run(&sender))
        .map_err(|error| format!("cannot start the sync thread: {error}"))?;
    Ok(IronicSource { first: first.loaded, report: first.report, updates, stats })
}
