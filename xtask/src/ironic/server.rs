//! One standalone Ironic process (API and conductor in one, `ironic.command.singleprocess`)
//! on 127.0.0.1, configured from scratch in its own directory.

use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::api::Api;
use super::venv;

/// The HTTP basic user the tests' Ironic accepts.
pub const USER: &str = "ipxe-config";
/// Its password (a test secret for a loopback-only service).
pub const PASSWORD: &str = "loopback-only-secret";

/// Where one Ironic keeps its configuration, database, caches and log.
pub struct IronicDir {
    pub root: PathBuf,
    /// Ironic's `[deploy]http_root`: where it puts its copies of boot images.
    pub http_root: PathBuf,
    /// The SQLite database; kept when it exists (the bench enrolls 1,000 nodes once).
    pub database: PathBuf,
    /// Paths Ironic may read `file://` images from.
    pub file_roots: Vec<PathBuf>,
    /// Serve the API over TLS with this certificate chain and key (PEM), and trust this
    /// CA in [`Ironic::api`]: `(chain, key, ca)`.
    pub tls: Option<(PathBuf, PathBuf, PathBuf)>,
    /// Take Keystone tokens (`auth_strategy = keystone`) instead of HTTP basic.
    pub keystone: Option<KeystoneService>,
}

/// The Keystone Ironic validates tokens with, and Ironic's own service user there.
pub struct KeystoneService {
    pub url: String,
    pub user: String,
    pub password: String,
    /// The project of the `service` role that Ironic lets see every node
    /// (`rbac_service_role_elevated_access`).
    pub project: String,
}

/// A running Ironic; stopped (its whole process group) when dropped.
pub struct Ironic {
    child: Option<Child>,
    pub port: u16,
    pub dir: IronicDir,
    python: PathBuf,
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free loopback port: {e}"))?;
    listener.local_addr().map(|address| address.port()).map_err(|e| e.to_string())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

impl Ironic {
    /// Configures and starts Ironic, and waits until its API answers.
    pub fn start(dir: IronicDir) -> Result<Self, String> {
        let python = venv::ensure()?;
        let port = free_port()?;
        let mut ironic = Ironic { child: None, port, dir, python };
        ironic.configure()?;
        if !ironic.dir.database.exists() {
            ironic.python_main("ironic.command.dbsync", &["create_schema"], "dbsync.log")?;
        }
        ironic.launch()?;
        Ok(ironic)
    }

    /// The API's base URL.
    pub fn url(&self) -> String {
        let scheme = if self.dir.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// A client of its API with the basic-auth credentials.
    pub fn api(&self) -> Api {
        let ca = self.dir.tls.as_ref().and_then(|(_, _, ca)| fs::read(ca).ok());
        Api::new(&self.url(), USER, PASSWORD, ca.as_deref())
    }

    fn conf(&self) -> PathBuf {
        self.dir.root.join("ironic.conf")
    }

    fn configure(&self) -> Result<(), String> {
        let root = &self.dir.root;
        for sub in ["tftp", "images", "master", "tftp-master", "locks"] {
            fs::create_dir_all(root.join(sub)).map_err(|e| format!("{}: {e}", root.display()))?;
        }
        fs::create_dir_all(&self.dir.http_root).map_err(|e| format!("{}: {e}", self.dir.http_root.display()))?;
        // bcrypt, as Ironic's http_basic reads it, from the venv's own bcrypt.
        let output = Command::new(&self.python)
            .args(["-c", "import bcrypt, sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(4)).decode())"])
            .arg(PASSWORD)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.python.display()))?;
        if !output.status.success() {
            return Err(format!("bcrypt failed: {}", String::from_utf8_lossy(&output.stderr)));
        }
        let hash = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let htpasswd = root.join("htpasswd");
        write(&htpasswd, &format!("{USER}:{hash}\n"))?;
        let path = |p: &Path| p.display().to_string();
        let file_roots: Vec<String> = self.dir.file_roots.iter().map(|p| path(p)).collect();
        let conf = format!(
            "[DEFAULT]\n\
             auth_strategy = {auth_strategy}\n\
             http_basic_auth_user_file = {htpasswd}\n\
             rpc_transport = none\n\
             my_ip = 127.0.0.1\n\
             host = ipxe-config-test\n\
             enabled_hardware_types = fake-hardware\n\
             enabled_boot_interfaces = fake,ipxe\n\
             enabled_deploy_interfaces = fake,direct,ramdisk\n\
             enabled_power_interfaces = fake\n\
             enabled_management_interfaces = fake\n\
             enabled_vendor_interfaces = no-vendor,fake\n\
             enabled_inspect_interfaces = no-inspect,fake\n\
             enabled_console_interfaces = no-console,fake\n\
             enabled_raid_interfaces = no-raid,fake\n\
             enabled_bios_interfaces = no-bios,fake\n\
             enabled_rescue_interfaces = no-rescue,fake\n\
             enabled_firmware_interfaces = no-firmware,fake\n\
             enabled_storage_interfaces = noop\n\
             enabled_network_interfaces = noop\n\
             default_boot_interface = ipxe\n\
             default_deploy_interface = direct\n\
             default_network_interface = noop\n\
             [api]\nhost_ip = 127.0.0.1\nport = {port}\napi_workers = 1\n{tls}\
             [json_rpc]\nauth_strategy = noauth\n\
             [database]\nconnection = sqlite:///{database}\n\
             [conductor]\nautomated_clean = false\nfile_url_allowed_paths = {file_roots}\n\
             [deploy]\nhttp_url = http://10.99.0.1\nhttp_root = {http_root}\n\
             [pxe]\ntftp_root = {tftp}\nimages_path = {images}\ninstance_master_path = {master}\n\
             tftp_master_path = {tftp_master}\nkernel_append_params = nofb vga=normal\n\
             [dhcp]\ndhcp_provider = none\n\
             [oslo_concurrency]\nlock_path = {locks}\n\
             [service_catalog]\nendpoint_override = {scheme}://127.0.0.1:{port}\n{keystone}",
            auth_strategy = if self.dir.keystone.is_some() { "keystone" } else { "http_basic" },
            // Tokens checked with Keystone on every request (no cache), so that a revoked
            // token is refused at once; a `service` role in the service project sees all.
            keystone = match &self.dir.keystone {
                Some(service) => format!(
                    "[keystone_authtoken]\nauth_type = password\nauth_url = {url}\nwww_authenticate_uri = {url}\n\
                     username = {user}\npassword = {password}\nuser_domain_id = default\n\
                     project_name = {project}\nproject_domain_id = default\ntoken_cache_time = -1\n\
                     interface = public\n\
                     [DEFAULT]\nrbac_service_role_elevated_access = true\nrbac_service_project_name = {project}\n",
                    url = service.url,
                    user = service.user,
                    password = service.password,
                    project = service.project,
                ),
                None => String::new(),
            },
            scheme = if self.dir.tls.is_some() { "https" } else { "http" },
            htpasswd = path(&htpasswd),
            port = self.port,
            tls = match &self.dir.tls {
                Some((chain, key, _)) => format!(
                    "enable_ssl_api = true\ncert_file = {}\nkey_file = {}\nserver_tls_minimum_version = 1.2\n",
                    path(chain),
                    path(key)
                ),
                None => String::new(),
            },
            database = path(&self.dir.database),
            file_roots = file_roots.join(","),
            http_root = path(&self.dir.http_root),
            tftp = path(&root.join("tftp")),
            images = path(&root.join("images")),
            master = path(&root.join("master")),
            tftp_master = path(&root.join("tftp-master")),
            locks = path(&root.join("locks")),
        );
        write(&self.conf(), &conf)
    }

    /// `python -c "from MODULE import main; main()" --config-file C ARGS…`, to its end.
    fn python_main(&self, module: &str, args: &[&str], log: &str) -> Result<(), String> {
        let log_path = self.dir.root.join(log);
        let log_file = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let status = Command::new(&self.python)
            .args(["-c", &format!("import sys; from {module} import main; sys.exit(main())"), "--config-file"])
            .arg(self.conf())
            .args(args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file)
            .status()
            .map_err(|e| format!("cannot run {module}: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{module} failed ({status}); see {}", log_path.display()))
        }
    }

    fn launch(&mut self) -> Result<(), String> {
        let log_path = self.dir.root.join("ironic.log");
        let log_file = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("{}: {e}", log_path.display()))?;
        let child = Command::new(&self.python)
            .args([
                "-c",
                "import sys; from ironic.command.singleprocess import main; sys.exit(main())",
                "--config-file",
            ])
            .arg(self.conf())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file)
            // Its own process group: Ironic forks workers, and stop() ends them all by
            // the group's ID (the leader's PID).
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start Ironic: {e}"))?;
        self.child = Some(child);
        let api = self.api();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if api.root_answers() {
                return Ok(());
            }
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("Ironic exited ({status}) at start-up; see {}", log_path.display()));
                }
            }
            if Instant::now() >= deadline {
                return Err(format!("Ironic's API did not answer within 60 s; see {}", log_path.display()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops Ironic (the appliance then sees an outage); [`Ironic::resume`] starts it
    /// again on the same port and database.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                // SAFETY: kill(2) on the process group we created; no memory involved.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the stopped Ironic again.
    pub fn resume(&mut self) -> Result<(), String> {
        self.launch()
    }
}

impl Drop for Ironic {
    fn drop(&mut self) {
        self.stop();
    }
}
