//! A Redis container of the tests' own (never `dapr_redis`), from the image scripts/build-redis-image.sh builds.

use std::time::Duration;

/// A Redis container, like `dapr init`'s `dapr_redis` but with its own name and port so the test never
/// touches a real one; removed on drop. The image is built once (scripts/build-redis-image.sh) and reused.
pub struct RedisContainer {
    pub name: String,
    pub port: u16,
}

impl RedisContainer {
    pub fn create() -> Self {
        use std::process::Command;
        let docker = |args: &[&str]| {
            Command::new("docker")
                .args(args)
                .output()
                .expect("the docker command runs")
        };
        let engine = docker(&["version", "--format", "{{.Server.Version}}"]);
        assert!(
            engine.status.success(),
            "no Docker engine answers; start it: {}",
            String::from_utf8_lossy(&engine.stderr)
        );
        // The image copies the host's redis-server; install it here, under the lock the other tests share.
        super::ensure_installed("redis-server", "redis-server");
        // One build at a time: the tests share one process (tests/all.rs).
        static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let building = BUILDING.lock().unwrap_or_else(|p| p.into_inner());
        if !docker(&["image", "inspect", "resilience-tui/redis:local"])
            .status
            .success()
        {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/build-redis-image.sh");
            let built = Command::new("bash").arg(script).output().unwrap();
            assert!(
                built.status.success(),
                "building the Redis image failed: {}",
                String::from_utf8_lossy(&built.stderr)
            );
        }
        drop(building);
        // One name per container: several tests of one binary may each make one.
        static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (name, port) = (format!("rtui-redis-{}-{n}", std::process::id()), super::free_port());
        let _ = docker(&["rm", "-f", &name]);
        let publish = format!("127.0.0.1:{port}:6379");
        let run = docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "-p",
            &publish,
            "resilience-tui/redis:local",
        ]);
        assert!(
            run.status.success(),
            "docker run failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        // docker-proxy accepts on the published port before redis-server inside listens, so a TCP connect
        // proves nothing: wait for a PONG, or the first orders meet a reset and retry before any fault.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !answers_ping(port) {
            assert!(
                std::time::Instant::now() < deadline,
                "the Redis container did not answer PING"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        RedisContainer { name, port }
    }

    pub fn paused(&self) -> bool {
        let out = std::process::Command::new("docker")
            .args(["inspect", "--format", "{{.State.Paused}}", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "true"
    }

    pub fn running(&self) -> bool {
        let out = std::process::Command::new("docker")
            .args(["inspect", "--format", "{{.State.Running}}", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "true"
    }
}

fn answers_ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    conn.write_all(b"PING\r\n").is_ok() && conn.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

impl Drop for RedisContainer {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", &self.name])
            .output();
    }
}
