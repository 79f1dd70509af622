//! The global connection flags (§1): one flag and one `S3FLOW_<FIELD>` variable per
//! connection field, turned into an [`s3flow::Connection`].
//!
//! Without `--access-key-id`/`--secret-access-key` the connection uses the AWS default chain,
//! so `AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, the shared
//! config/credentials files, web identity and instance metadata all work as in aws-cli.

use clap::Args;
use s3flow::{Auth, Connection, Error, Provider, Result, Secret};

/// Connection flags, global to every subcommand. Secrets are best given through the
/// environment (a flag value is visible to other users in the process list); clap never
/// shows their environment values in `--help`.
#[derive(Clone, Default, Args)]
#[command(next_help_heading = "Connection (each flag is also an S3FLOW_<FIELD> variable)")]
pub struct ConnectionArgs {
    /// A saved connection from the encrypted connection store.
    #[arg(long, env = "S3FLOW_CONNECTION", global = true, value_name = "NAME")]
    pub connection: Option<String>,

    /// Region, e.g. eu-west-1 (default: AWS_REGION or the profile's, else us-east-1). Also the
    /// region of a new bucket for `bucket create` and of the endpoint for `local`.
    #[arg(long, env = "S3FLOW_REGION", global = true)]
    pub region: Option<String>,

    /// Custom S3 endpoint URL for S3-compatible stores (MinIO, Garage, R2, `s3flow local`…).
    #[arg(long, env = "S3FLOW_ENDPOINT", global = true, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Path-style addressing (default: on with --endpoint or a non-AWS provider).
    #[arg(
        long,
        env = "S3FLOW_FORCE_PATH_STYLE",
        global = true,
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
    )]
    pub force_path_style: Option<bool>,

    /// Store preset: aws (default), minio, r2, garage, seaweedfs, ceph, other.
    #[arg(long, env = "S3FLOW_PROVIDER", global = true)]
    pub provider: Option<String>,

    /// Access key id (with --secret-access-key; default: the AWS credentials chain).
    #[arg(
        long,
        env = "S3FLOW_ACCESS_KEY_ID",
        global = true,
        hide_env_values = true,
        value_name = "ID"
    )]
    pub access_key_id: Option<String>,

    /// Secret access key. Prefer the S3FLOW_SECRET_ACCESS_KEY variable to the flag.
    #[arg(
        long,
        env = "S3FLOW_SECRET_ACCESS_KEY",
        global = true,
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub secret_access_key: Option<String>,

    /// Session token of temporary credentials. Prefer the S3FLOW_SESSION_TOKEN variable.
    #[arg(
        long,
        env = "S3FLOW_SESSION_TOKEN",
        global = true,
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub session_token: Option<String>,

    /// Profile of the shared AWS config/credentials files (default chain only).
    #[arg(long, env = "S3FLOW_PROFILE", global = true)]
    pub profile: Option<String>,

    /// Assume this IAM role through STS, with the credentials above as the source.
    #[arg(long, env = "S3FLOW_ROLE_ARN", global = true, value_name = "ARN")]
    pub role_arn: Option<String>,

    /// External id required by the role's trust policy (with --role-arn).
    #[arg(long, env = "S3FLOW_EXTERNAL_ID", global = true, value_name = "ID")]
    pub external_id: Option<String>,

    /// Session name of the assumed role (with --role-arn; default s3flow).
    #[arg(
        long,
        env = "S3FLOW_ROLE_SESSION_NAME",
        global = true,
        value_name = "NAME"
    )]
    pub role_session_name: Option<String>,

    /// Lifetime of the assumed role's credentials, 900 to 43200 (with --role-arn).
    #[arg(
        long,
        env = "S3FLOW_ROLE_DURATION_SECONDS",
        global = true,
        value_name = "SECONDS"
    )]
    pub role_duration_seconds: Option<u32>,

    /// Refuse every action on any other bucket (outside_restriction).
    #[arg(
        long,
        env = "S3FLOW_RESTRICT_BUCKET",
        global = true,
        value_name = "BUCKET"
    )]
    pub restrict_bucket: Option<String>,

    /// Refuse every key that does not lie under this folder (outside_restriction).
    #[arg(
        long,
        env = "S3FLOW_RESTRICT_PREFIX",
        global = true,
        value_name = "PREFIX"
    )]
    pub restrict_prefix: Option<String>,

    /// Public base URL used in pre-signed links when the store is reached under another host.
    #[arg(
        long,
        env = "S3FLOW_PRESIGN_ENDPOINT",
        global = true,
        value_name = "URL"
    )]
    pub presign_endpoint: Option<String>,

    /// PEM file of extra trusted CA certificates (self-signed MinIO, Ceph…).
    #[arg(long, env = "S3FLOW_CA_BUNDLE", global = true, value_name = "FILE")]
    pub ca_bundle: Option<String>,

    /// Parallel ranged GETs per large download (1 to 256).
    #[arg(long, env = "S3FLOW_DOWNLOAD_THREADS", global = true, value_name = "N")]
    pub download_threads: Option<u32>,

    /// Parts uploaded at once in a multipart upload (1 to 256).
    #[arg(
        long,
        env = "S3FLOW_UPLOAD_CONCURRENCY",
        global = true,
        value_name = "N"
    )]
    pub upload_concurrency: Option<u32>,

    /// Multipart part size in bytes (5 MiB = 5242880 to 5 GiB).
    #[arg(long, env = "S3FLOW_PART_SIZE", global = true, value_name = "BYTES")]
    pub part_size: Option<u64>,

    /// Attempts per request, including the first (1 to 100; default 5).
    #[arg(long, env = "S3FLOW_MAX_ATTEMPTS", global = true, value_name = "N")]
    pub max_attempts: Option<u32>,

    /// Timeout per request attempt, in seconds.
    #[arg(
        long,
        env = "S3FLOW_TIMEOUT_SECONDS",
        global = true,
        value_name = "SECONDS"
    )]
    pub timeout_seconds: Option<u64>,
}

/// Redacts the secrets, like `Connection`'s own `Debug`.
impl std::fmt::Debug for ConnectionArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |secret: &Option<String>| secret.as_ref().map(|_| "***");
        f.debug_struct("ConnectionArgs")
            .field("connection", &self.connection)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("provider", &self.provider)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redacted(&self.secret_access_key))
            .field("session_token", &redacted(&self.session_token))
            .field("profile", &self.profile)
            .field("role_arn", &self.role_arn)
            .field("restrict_bucket", &self.restrict_bucket)
            .field("restrict_prefix", &self.restrict_prefix)
            .finish_non_exhaustive()
    }
}

impl ConnectionArgs {
    /// The connection these flags describe. Field values are checked by
    /// [`Connection::validate`] when the client connects; this only checks that the flags
    /// make sense together.
    pub fn to_connection(&self) -> Result<Connection> {
        if let Some(name) = &self.connection {
            // A saved connection comes from the store (`commands::connect`), never from
            // these flags: refuse rather than silently use another account.
            return Err(Error::invalid_input(format!(
                "--connection {name:?}: a saved connection is read from the connection store, not from flags"
            )));
        }
        let provider = match &self.provider {
            Some(provider) => Provider::parse(provider)?,
            None => Provider::default(),
        };
        Ok(Connection {
            name: None,
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            force_path_style: self.force_path_style,
            auth: self.auth()?,
            restrict_bucket: self.restrict_bucket.clone(),
            restrict_prefix: self.restrict_prefix.clone(),
            download_threads: self.download_threads,
            upload_concurrency: self.upload_concurrency,
            part_size: self.part_size,
            max_attempts: self.max_attempts,
            timeout_seconds: self.timeout_seconds,
            provider,
            presign_endpoint: self.presign_endpoint.clone(),
            ca_bundle: self.ca_bundle.clone(),
            multipart_copy_threshold: None,
        })
    }

    /// Access key flags → `access_key`; otherwise the default chain (optionally one profile);
    /// `--role-arn` wraps either in `assume_role`.
    fn auth(&self) -> Result<Auth> {
        let source = match (&self.access_key_id, &self.secret_access_key) {
            (Some(access_key_id), Some(secret_access_key)) => {
                if self.profile.is_some() {
                    return Err(Error::invalid_input(
                        "--profile: selects credentials from the AWS config files; it cannot be combined with --access-key-id",
                    ));
                }
                Auth::AccessKey {
                    access_key_id: access_key_id.clone(),
                    secret_access_key: Secret::new(secret_access_key.clone()),
                    session_token: self.session_token.clone().map(Secret::new),
                }
            }
            (Some(_), None) => {
                return Err(Error::invalid_input(
                    "--access-key-id: needs --secret-access-key (or S3FLOW_SECRET_ACCESS_KEY)",
                ))
            }
            (None, Some(_)) => {
                return Err(Error::invalid_input(
                    "--secret-access-key: needs --access-key-id (or S3FLOW_ACCESS_KEY_ID)",
                ))
            }
            (None, None) => {
                if self.session_token.is_some() {
                    return Err(Error::invalid_input(
                        "--session-token: needs --access-key-id and --secret-access-key (AWS_SESSION_TOKEN works with the default chain)",
                    ));
                }
                Auth::DefaultChain {
                    profile: self.profile.clone(),
                }
            }
        };
        match &self.role_arn {
            Some(role_arn) => Ok(Auth::AssumeRole {
                role_arn: role_arn.clone(),
                external_id: self.external_id.clone(),
                session_name: self.role_session_name.clone(),
                duration_seconds: self.role_duration_seconds,
                source: Box::new(source),
            }),
            None => {
                let role_only = [
                    ("--external-id", self.external_id.is_some()),
                    ("--role-session-name", self.role_session_name.is_some()),
                    (
                        "--role-duration-seconds",
                        self.role_duration_seconds.is_some(),
                    ),
                ];
                if let Some((flag, _)) = role_only.iter().find(|(_, given)| *given) {
                    return Err(Error::invalid_input(format!(
                        "{flag}: only with --role-arn"
                    )));
                }
                Ok(source)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use s3flow::ErrorCode;

    #[derive(Parser)]
    struct Probe {
        #[command(flatten)]
        conn: ConnectionArgs,
    }

    fn parse(args: &[&str]) -> ConnectionArgs {
        let mut argv = vec!["s3flow"];
        argv.extend_from_slice(args);
        Probe::try_parse_from(argv).unwrap().conn
    }

    fn keys() -> ConnectionArgs {
        ConnectionArgs {
            access_key_id: Some("AKID".into()),
            secret_access_key: Some("very-secret".into()),
            ..ConnectionArgs::default()
        }
    }

    #[test]
    fn access_key_flags_make_an_access_key_auth() {
        let conn = parse(&[
            "--access-key-id",
            "AKID",
            "--secret-access-key",
            "s3cr3t",
            "--session-token",
            "tok",
        ])
        .to_connection()
        .unwrap();
        match conn.auth {
            Auth::AccessKey {
                access_key_id,
                secret_access_key,
                session_token,
            } => {
                assert_eq!(access_key_id, "AKID");
                assert_eq!(secret_access_key.expose(), "s3cr3t");
                assert_eq!(session_token.unwrap().expose(), "tok");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_keys_means_the_default_chain() {
        let conn = ConnectionArgs {
            profile: Some("work".into()),
            ..ConnectionArgs::default()
        }
        .to_connection()
        .unwrap();
        assert_eq!(
            conn.auth,
            Auth::DefaultChain {
                profile: Some("work".into())
            }
        );
        let conn = ConnectionArgs::default().to_connection().unwrap();
        assert_eq!(conn.auth, Auth::DefaultChain { profile: None });
    }

    #[test]
    fn role_arn_wraps_the_source() {
        let args = ConnectionArgs {
            role_arn: Some("arn:aws:iam::123456789012:role/etl".into()),
            external_id: Some("ext".into()),
            role_duration_seconds: Some(900),
            ..keys()
        };
        match args.to_connection().unwrap().auth {
            Auth::AssumeRole {
                role_arn,
                external_id,
                duration_seconds,
                source,
                ..
            } => {
                assert_eq!(role_arn, "arn:aws:iam::123456789012:role/etl");
                assert_eq!(external_id.as_deref(), Some("ext"));
                assert_eq!(duration_seconds, Some(900));
                assert!(matches!(*source, Auth::AccessKey { .. }));
            }
            other => panic!("{other:?}"),
        }
        let chain = ConnectionArgs {
            role_arn: Some("arn:aws:iam::1:role/r".into()),
            ..ConnectionArgs::default()
        };
        match chain.to_connection().unwrap().auth {
            Auth::AssumeRole { source, .. } => {
                assert_eq!(*source, Auth::DefaultChain { profile: None })
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags_that_do_not_go_together_are_refused() {
        let cases = [
            ConnectionArgs {
                secret_access_key: None,
                ..keys()
            },
            ConnectionArgs {
                access_key_id: None,
                ..keys()
            },
            ConnectionArgs {
                profile: Some("p".into()),
                ..keys()
            },
            ConnectionArgs {
                session_token: Some("t".into()),
                ..ConnectionArgs::default()
            },
            ConnectionArgs {
                external_id: Some("x".into()),
                ..keys()
            },
            ConnectionArgs {
                role_session_name: Some("x".into()),
                ..keys()
            },
            ConnectionArgs {
                provider: Some("dropbox".into()),
                ..keys()
            },
            ConnectionArgs {
                connection: Some("prod".into()),
                ..keys()
            },
        ];
        for args in cases {
            let err = args.to_connection().unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput, "{args:?}");
            assert!(!err.message.contains("very-secret"), "{}", err.message);
        }
    }

    #[test]
    fn a_saved_connection_is_not_built_from_flags() {
        let err = ConnectionArgs {
            connection: Some("prod".into()),
            ..ConnectionArgs::default()
        }
        .to_connection()
        .unwrap_err();
        assert!(
            err.message.contains("read from the connection store"),
            "{}",
            err.message
        );
    }

    #[test]
    fn every_field_reaches_the_connection() {
        let conn = parse(&[
            "--region",
            "eu-west-1",
            "--endpoint",
            "http://127.0.0.1:9000",
            "--force-path-style",
            "--provider",
            "MinIO",
            "--restrict-bucket",
            "invoices",
            "--restrict-prefix",
            "tenant-a/",
            "--presign-endpoint",
            "https://files.example.com",
            "--ca-bundle",
            "/etc/ca.pem",
            "--download-threads",
            "8",
            "--upload-concurrency",
            "4",
            "--part-size",
            "16777216",
            "--max-attempts",
            "3",
            "--timeout-seconds",
            "30",
        ])
        .to_connection()
        .unwrap();
        assert_eq!(conn.region.as_deref(), Some("eu-west-1"));
        assert_eq!(conn.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(conn.force_path_style, Some(true));
        assert_eq!(conn.provider, Provider::Minio);
        assert_eq!(conn.restrict_bucket.as_deref(), Some("invoices"));
        assert_eq!(conn.restrict_prefix.as_deref(), Some("tenant-a/"));
        assert_eq!(
            conn.presign_endpoint.as_deref(),
            Some("https://files.example.com")
        );
        assert_eq!(conn.ca_bundle.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(conn.download_threads, Some(8));
        assert_eq!(conn.upload_concurrency, Some(4));
        assert_eq!(conn.part_size, Some(16 * 1024 * 1024));
        assert_eq!(conn.max_attempts, Some(3));
        assert_eq!(conn.timeout_seconds, Some(30));
        assert!(conn.validate().is_ok());
    }

    #[test]
    fn force_path_style_takes_an_optional_bool() {
        assert_eq!(
            parse(&["--force-path-style=false"]).force_path_style,
            Some(false)
        );
        assert_eq!(parse(&["--force-path-style"]).force_path_style, Some(true));
        assert_eq!(parse(&[]).force_path_style, None);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let args = ConnectionArgs {
            session_token: Some("very-secret-token".into()),
            ..keys()
        };
        assert!(!format!("{args:?}").contains("very-secret"), "{args:?}");
        let conn = args.to_connection().unwrap();
        assert!(!format!("{conn:?}").contains("very-secret"));
    }
}
