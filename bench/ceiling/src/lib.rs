//! Shared bits of the benchmark binaries: argument parsing and the s3flow connection.

use std::collections::HashMap;

use s3flow::client::Client;
use s3flow::connection::{Connection, Provider};

/// `--name value` pairs; every flag takes one value.
pub struct Args(HashMap<String, String>);

impl Args {
    pub fn parse() -> Args {
        let mut map = HashMap::new();
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let name = flag
                .strip_prefix("--")
                .unwrap_or_else(|| die(&format!("unexpected argument {flag:?}")));
            let value = it
                .next()
                .unwrap_or_else(|| die(&format!("--{name} needs a value")));
            map.insert(name.to_owned(), value);
        }
        Args(map)
    }

    pub fn get(&self, name: &str) -> String {
        self.0
            .get(name)
            .cloned()
            .unwrap_or_else(|| die(&format!("--{name} is required")))
    }

    pub fn get_or(&self, name: &str, default: &str) -> String {
        self.0
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }

    pub fn number(&self, name: &str, default: u64) -> u64 {
        match self.0.get(name) {
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| die(&format!("--{name}: {v:?} is not a number"))),
            None => default,
        }
    }
}

pub fn die(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

/// The connection every bench binary uses: `--endpoint --access-key-id --secret-access-key --region`.
pub async fn connect(args: &Args) -> Client {
    let mut connection = Connection::with_access_key(
        &args.get("endpoint"),
        &args.get("access-key-id"),
        &args.get("secret-access-key"),
        &args.get_or("region", "garage"),
    );
    connection.provider =
        Provider::parse(&args.get_or("provider", "garage")).unwrap_or_else(|e| die(&e.to_string()));
    Client::connect(connection)
        .await
        .unwrap_or_else(|e| die(&format!("connect: {e}")))
}
