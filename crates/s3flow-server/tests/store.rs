//! The store: secrets never in plain text on disk, a wrong master key fails at open, key
//! rotation loses nothing.

use s3flow::{Auth, Connection, ErrorCode, Secret};
use s3flow_server::crypto::MasterKey;
use s3flow_server::Store;

const SECRET: &str = "wJalrXUtnFEMI-very-secret-value";
const SESSION: &str = "FwoGZXIvYXdz-session-token-value";

fn connection(name: &str) -> Connection {
    Connection {
        name: Some(name.into()),
        auth: Auth::AccessKey {
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: Secret::new(SECRET),
            session_token: Some(Secret::new(SESSION)),
        },
        ..Connection::default()
    }
}

fn assume_role(name: &str) -> Connection {
    Connection {
        name: Some(name.into()),
        auth: Auth::AssumeRole {
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            external_id: None,
            session_name: None,
            duration_seconds: None,
            source: Box::new(connection("x").auth),
        },
        ..Connection::default()
    }
}

#[tokio::test]
async fn the_database_file_holds_no_secret_in_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None, MasterKey::generate())
        .await
        .unwrap();
    store.put_connection(&connection("plain")).await.unwrap();
    store.put_connection(&assume_role("role")).await.unwrap();
    let (_, token) = store.create_token().await.unwrap();
    assert_eq!(
        store.get_connection("plain").await.unwrap(),
        connection("plain")
    );
    assert_eq!(
        store.get_connection("role").await.unwrap(),
        assume_role("role")
    );
    store.close().await;
    let mut raw = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("s3flow.db")
        {
            raw.extend(std::fs::read(path).unwrap());
        }
    }
    assert!(!raw.is_empty());
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("AKIAEXAMPLE"), "the dump is readable");
    for secret in [SECRET, SESSION, token.as_str()] {
        assert!(!text.contains(secret), "{secret} is in the database file");
    }
}

#[tokio::test]
async fn a_wrong_master_key_fails_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None, MasterKey::generate())
        .await
        .unwrap();
    store.put_connection(&connection("c")).await.unwrap();
    store.close().await;
    let err = Store::open(dir.path(), None, MasterKey::generate())
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("master key"), "{}", err.message);
}

#[tokio::test]
async fn the_key_file_is_created_once_with_0600() {
    let dir = tempfile::tempdir().unwrap();
    std::env::remove_var(s3flow_server::crypto::MASTER_KEY_ENV);
    let first = MasterKey::load_or_create(dir.path()).unwrap();
    let second = MasterKey::load_or_create(dir.path()).unwrap();
    assert_eq!(first.to_base64(), second.to_base64());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::write(dir.path().join("master.key"), "short").unwrap();
    assert_eq!(
        MasterKey::load_or_create(dir.path()).unwrap_err().code,
        ErrorCode::InvalidInput
    );
}

#[tokio::test]
async fn rotation_re_encrypts_everything_under_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let old = MasterKey::generate();
    let store = Store::open(dir.path(), None, old.clone()).await.unwrap();
    for i in 0..5 {
        store
            .put_connection(&connection(&format!("c{i}")))
            .await
            .unwrap();
    }
    store.put_connection(&assume_role("role")).await.unwrap();
    let new = MasterKey::generate();
    assert_eq!(store.rotate_key(&new).await.unwrap(), 6);
    store.close().await;
    assert!(
        Store::open(dir.path(), None, old).await.is_err(),
        "the old key no longer opens it"
    );
    let store = Store::open(dir.path(), None, new).await.unwrap();
    for i in 0..5 {
        assert_eq!(
            store.get_connection(&format!("c{i}")).await.unwrap(),
            connection(&format!("c{i}"))
        );
    }
    assert_eq!(
        store.get_connection("role").await.unwrap(),
        assume_role("role")
    );
}

#[tokio::test]
async fn tokens_are_listed_without_their_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None, MasterKey::generate())
        .await
        .unwrap();
    let (id, token) = store.create_token().await.unwrap();
    assert_eq!(
        store.check_token(&token).await.unwrap().as_deref(),
        Some(id.as_str())
    );
    let listed = serde_json::to_string(&store.list_tokens().await.unwrap()).unwrap();
    assert!(listed.contains(&id) && !listed.contains(&token), "{listed}");
    store.revoke_token(&id).await.unwrap();
    assert_eq!(store.check_token(&token).await.unwrap(), None);
    assert_eq!(
        store.revoke_token("nope").await.unwrap_err().code,
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn an_instance_left_on_the_old_key_does_not_write_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let old = MasterKey::generate();
    let running = Store::open(dir.path(), None, old.clone()).await.unwrap();
    let rotating = Store::open(dir.path(), None, old).await.unwrap();
    rotating.rotate_key(&MasterKey::generate()).await.unwrap();
    let err = running
        .put_connection(&connection("late"))
        .await
        .unwrap_err();
    assert!(err.message.contains("rotated"), "{}", err.message);
}
