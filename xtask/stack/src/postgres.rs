//! A PostgreSQL server of a run's own: the benches' and the chaos run's database.

use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use xtask::run;

use crate::backend::free_port;

/// A PostgreSQL server of the bench's own, under `target/bench-streams/`, durable as in
/// production (`fsync` on), stopped on drop.
pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    /// initdb refuses to run as root: the server then runs as `postgres`.
    as_postgres: bool,
}

impl Postgres {
    pub fn start(work: &Path) -> anyhow::Result<Postgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .context("PostgreSQL's server: `apt-get install postgresql`")?
            .filter_map(Result::ok)
            .map(|v| v.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists())
            .max()
            .context("no initdb under /usr/lib/postgresql")?;
        let port = free_port()?;
        let as_postgres = xtask::is_root();
        // Run as `postgres`, the server must reach its folder: not under a checkout that may
        // sit in a folder only root can enter (`mktemp -d` makes them 0700), but in a folder
        // of its own under the system's temporary one (world-traversable), as the merchant's
        // tests do.
        let dir = if as_postgres {
            tempfile::Builder::new()
                .prefix(&format!("mobilepay-postgres-{port}-"))
                .tempdir()?
                .keep()
        } else {
            work.join(format!("postgres-{port}"))
        };
        std::fs::create_dir_all(&dir)?;
        if as_postgres {
            run(std::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir))?;
        }
        let pg = Postgres {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = pg.dir.join("data").display().to_string();
        pg.tool(
            "initdb",
            &["-A", "trust", "-U", "postgres", "-D", &data, "--no-sync"],
        )?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            pg.dir.display()
        );
        let log = pg.dir.join("log").display().to_string();
        pg.tool(
            "pg_ctl",
            &["-D", &data, "-o", &options, "-l", &log, "-w", "-s", "start"],
        )?;
        Ok(pg)
    }

    fn tool(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut cmd = std::process::Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(&program);
            cmd
        } else {
            std::process::Command::new(&program)
        };
        let out = cmd
            .args(args)
            .output()
            .with_context(|| format!("running {tool}"))?;
        ensure!(
            out.status.success(),
            "{tool} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    /// A new, empty database's URL.
    pub fn fresh_database(&self, name: &str) -> anyhow::Result<String> {
        let host = self.dir.display().to_string();
        let port = self.port.to_string();
        self.tool(
            "createdb",
            &["-h", &host, "-p", &port, "-U", "postgres", name],
        )?;
        Ok(format!(
            "postgres://postgres@127.0.0.1:{}/{name}",
            self.port
        ))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self.tool("pg_ctl", &["-D", &data, "-m", "fast", "-s", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
