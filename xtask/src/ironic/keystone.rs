//! A real Keystone from PyPI for `cargo xtask ironic-source`: its own venv (not Ironic's,
//! so neither pins the other's dependencies), SQLite, fernet tokens, bootstrapped with an
//! admin, and served by the standard library's WSGI server on 127.0.0.1.

use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cmd::{run, workspace_root};

/// The newest Keystone on PyPI; pip resolves for it the same oslo.* and keystonemiddleware
/// releases as for Ironic 39.
pub const KEYSTONE_VERSION: &str = "30.0.0";
/// The bootstrap admin's password (a test secret for a loopback-only service).
pub const ADMIN_PASSWORD: &str = "loopback-only-admin";

fn venv() -> PathBuf {
    workspace_root().join("target/keystone/venv")
}

fn python() -> PathBuf {
    venv().join("bin/python")
}

fn installed_version() -> Option<String> {
    let output = Command::new(python())
        .args(["-c", "import importlib.metadata as m; print(m.version('keystone'))"])
        .output()
        .ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Makes sure the venv holds Keystone 30.0.0 (~30 s the first time, nothing after).
fn ensure_venv() -> Result<PathBuf, String> {
    if installed_version().as_deref() == Some(KEYSTONE_VERSION) {
        return Ok(python());
    }
    if !python().exists() {
        let system = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
        run(Command::new(system).arg("-m").arg("venv").arg(venv()))?;
    }
    println!("keystone: installing keystone=={KEYSTONE_VERSION} into {}", venv().display());
    run(Command::new(python())
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("keystone=={KEYSTONE_VERSION}")))?;
    match installed_version() {
        Some(version) if version == KEYSTONE_VERSION => Ok(python()),
        other => Err(format!("the venv {} holds keystone {other:?}, not {KEYSTONE_VERSION}", venv().display())),
    }
}

/// A running Keystone; stopped (its process group) when dropped.
pub struct Keystone {
    child: Option<Child>,
    pub port: u16,
    agent: ureq::Agent,
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free loopback port: {e}"))?;
    listener.local_addr().map(|address| address.port()).map_err(|e| e.to_string())
}

/// `keystone-manage --config-file CONF ARGS…` through the venv's interpreter (its console
/// scripts name the path the venv was made at).
fn manage(python: &Path, root: &Path, args: &[&str]) -> Result<(), String> {
    let log_path = root.join("manage.log");
    let log = File::options().create(true).append(true).open(&log_path).map_err(|e| e.to_string())?;
    let status = Command::new(python)
        .args(["-c", "import sys; from keystone.cmd.manage import main; sys.exit(main())", "--config-file"])
        .arg(root.join("keystone.conf"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .status()
        .map_err(|e| format!("cannot run keystone-manage: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("keystone-manage {} failed ({status}); see {}", args.join(" "), log_path.display()))
    }
}

impl Keystone {
    /// Sets up a fresh Keystone in `root` and starts it; waits until `/v3` answers.
    pub fn start(root: &Path) -> Result<Self, String> {
        let python = ensure_venv()?;
        let _ = fs::remove_dir_all(root);
        fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
        let port = free_port()?;
        let conf = format!(
            "[database]\nconnection = sqlite:///{root}/keystone.sqlite\n\
             [token]\nprovider = fernet\n\
             [fernet_tokens]\nkey_repository = {root}/fernet-keys\n\
             [credential]\nkey_repository = {root}/credential-keys\n",
            root = root.display()
        );
        fs::write(root.join("keystone.conf"), conf).map_err(|e| e.to_string())?;
        // The key repositories belong to whoever runs the test, not to a `keystone` user.
        // SAFETY: getuid/getgid cannot fail and touch no memory.
        let (uid, gid) = unsafe { (libc::getuid().to_string(), libc::getgid().to_string()) };
        let owner = ["--keystone-user", uid.as_str(), "--keystone-group", gid.as_str()];
        manage(&python, root, &["db_sync"])?;
        manage(&python, root, &[&["fernet_setup"][..], &owner].concat())?;
        manage(&python, root, &[&["credential_setup"][..], &owner].concat())?;
        let url = format!("http://127.0.0.1:{port}");
        manage(&python, root, &["bootstrap", "--bootstrap-password", ADMIN_PASSWORD, "--bootstrap-public-url", &url])?;
        let log_path = root.join("keystone.log");
        let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let child = Command::new(&python)
            // The port goes in the script: Keystone's oslo.config reads sys.argv.
            .arg("-c")
            .arg(format!(
                "from wsgiref.simple_server import make_server; \
                 from keystone.server.wsgi import initialize_public_application as app; \
                 make_server('127.0.0.1', {port}, app()).serve_forever()"
            ))
            .env("OS_KEYSTONE_CONFIG_DIR", root)
            .env("OS_KEYSTONE_CONFIG_FILES", "keystone.conf")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start Keystone: {e}"))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let mut keystone = Keystone { child: Some(child), port, agent };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let answered = keystone
                .agent
                .get(&format!("{url}/v3"))
                .config()
                .timeout_global(Some(Duration::from_millis(500)))
                .build()
                .call()
                .is_ok_and(|response| response.status() == 200);
            if answered {
                return Ok(keystone);
            }
            if let Some(Ok(Some(status))) = keystone.child.as_mut().map(Child::try_wait) {
                return Err(format!("Keystone exited ({status}) at start-up; see {}", log_path.display()));
            }
            if Instant::now() >= deadline {
                return Err(format!("Keystone did not answer within 30 s; see {}", log_path.display()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `METHOD /v3/PATH` with `token`; the answer's JSON (`Null` when empty) and its
    /// `X-Subject-Token`, or the status and body when it is not 2xx.
    fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(Value, String), String> {
        let url = format!("{}/v3{path}", self.url());
        let mut request =
            ureq::http::Request::builder().method(method).uri(&url).header("Content-Type", "application/json");
        if let Some(token) = token {
            request = request.header("X-Auth-Token", token);
        }
        let request = request.body(body.map(Value::to_string).unwrap_or_default()).map_err(|e| e.to_string())?;
        let mut response = self.agent.run(request).map_err(|e| format!("{method} {url}: {e}"))?;
        let status = response.status().as_u16();
        let subject = response
            .headers()
            .get("X-Subject-Token")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.body_mut().read_to_string().map_err(|e| format!("{method} {url}: {e}"))?;
        if !(200..300).contains(&status) {
            return Err(format!("{method} /v3{path}: HTTP {status}: {text}"));
        }
        let value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| format!("{method} {path}: {e}: {text}"))?
        };
        Ok((value, subject))
    }

    /// `POST /v3/PATH` with `token`, the answer's JSON.
    pub fn post(&self, path: &str, token: &str, body: &Value) -> Result<Value, String> {
        self.send("POST", path, Some(token), Some(body)).map(|(value, _)| value)
    }

    /// `METHOD /v3/PATH` with `token` (and a body), the answer's JSON.
    pub fn call(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> Result<Value, String> {
        self.send(method, path, Some(token), body).map(|(value, _)| value)
    }

    /// A token for `user` (Default domain) by password, scoped to `scope` (Keystone's
    /// `scope` object): the token and the user's ID.
    pub fn password_token(&self, user: &str, password: &str, scope: Value) -> Result<(String, String), String> {
        let body = json!({"auth": {
            "identity": {"methods": ["password"],
                         "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": scope
        }});
        let (value, token) = self.send("POST", "/auth/tokens", None, Some(&body))?;
        let user_id = value["token"]["user"]["id"].as_str().ok_or("a token without its user")?.to_owned();
        Ok((token, user_id))
    }

    /// The system-scoped admin token `keystone-manage bootstrap` made possible.
    pub fn admin_token(&self) -> Result<String, String> {
        self.password_token("admin", ADMIN_PASSWORD, json!({"system": {"all": true}})).map(|(token, _)| token)
    }
}

/// `{"project": {"name": NAME, "domain": {"id": "default"}}}`.
pub fn project_scope(name: &str) -> Value {
    json!({"project": {"name": name, "domain": {"id": "default"}}})
}

impl Drop for Keystone {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                // SAFETY: kill(2) on the process group we created; no memory involved.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
