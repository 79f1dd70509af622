//! The OpenAPI 3.1 document, assembled from the same schemars types as `GET /v1/actions`:
//! one path per action, its input and output schemas under `components.schemas`.

use std::collections::BTreeMap;

use axum::Json;
use s3flow::actions::{self, ACTIONS};
use serde_json::{json, Map, Value};

pub async fn serve_openapi() -> Json<Value> {
    Json(document())
}

fn error_responses() -> Value {
    let mut out = Map::new();
    for (status, what) in [
        ("400", "invalid_input"),
        ("401", "unauthorized"),
        (
            "403",
            "credentials_invalid, access_denied or outside_restriction",
        ),
        ("404", "not_found"),
        ("409", "already_exists"),
        ("412", "precondition_failed"),
        ("413", "payload_too_large"),
        ("429", "throttled"),
        ("502", "upstream_unavailable"),
        ("504", "timeout"),
    ] {
        out.insert(
            status.into(),
            json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    }
    Value::Object(out)
}

fn with_errors(mut responses: Value) -> Value {
    if let (Some(map), Value::Object(errors)) = (responses.as_object_mut(), error_responses()) {
        for (k, v) in errors {
            map.entry(k).or_insert(v);
        }
    }
    responses
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// Moves a schemars root schema's `definitions` into `components`, renaming a definition
/// whose name is taken by a different one, and returns the schema itself.
fn absorb(
    components: &mut BTreeMap<String, Value>,
    prefix: &str,
    root: schemars::schema::RootSchema,
) -> Value {
    let mut renames = BTreeMap::new();
    let mut defs = Vec::new();
    for (name, schema) in root.definitions {
        let schema = serde_json::to_value(schema).unwrap_or_default();
        let target = match components.get(&name) {
            Some(existing) if *existing != schema => format!("{prefix}_{name}"),
            _ => name.clone(),
        };
        renames.insert(name, target.clone());
        defs.push((target, schema));
    }
    let mut schema = serde_json::to_value(root.schema).unwrap_or_default();
    rewrite_refs(&mut schema, &renames);
    if let Some(map) = schema.as_object_mut() {
        map.remove("$schema");
    }
    for (name, mut def) in defs {
        rewrite_refs(&mut def, &renames);
        components.insert(name, def);
    }
    schema
}

fn rewrite_refs(value: &mut Value, renames: &BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "$ref" {
                    if let Some(name) = v.as_str().and_then(|r| r.strip_prefix("#/definitions/")) {
                        let name = renames
                            .get(name)
                            .cloned()
                            .unwrap_or_else(|| name.to_owned());
                        *v = Value::String(format!("#/components/schemas/{name}"));
                    }
                } else {
                    rewrite_refs(v, renames);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, renames)),
        _ => {}
    }
}

pub fn document() -> Value {
    let mut components: BTreeMap<String, Value> = BTreeMap::new();
    let mut paths = Map::new();
    let name_param = json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,62}$"}});

    for action in ACTIONS {
        let (input, output) = actions::schemas(action).expect("every catalog action has schemas");
        let input = absorb(&mut components, action, input);
        let output = absorb(&mut components, action, output);
        let input_name = format!("{action}_input");
        let output_name = format!("{action}_output");
        components.insert(input_name.clone(), input);
        components.insert(output_name.clone(), output);
        paths.insert(
            format!("/v1/connections/{{name}}/actions/{action}"),
            json!({"post": {
                "operationId": format!("action_{action}"),
                "summary": actions::summary(action),
                "parameters": [name_param],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{input_name}")}}}},
                "responses": with_errors(json!({"200": json_response("the action's output", json!({"$ref": format!("#/components/schemas/{output_name}")}))})),
            }}),
        );
    }
    let connection = schemars::gen::SchemaSettings::draft2019_09()
        .into_generator()
        .into_root_schema_for::<s3flow::Connection>();
    let connection = absorb(&mut components, "connection", connection);
    components.insert("Connection".into(), connection);
    components.insert(
        "Error".into(),
        json!({"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message", "retryable"],
            "properties": {
                "code": {"type": "string", "enum": ["invalid_input","unauthorized","credentials_invalid","access_denied","outside_restriction","not_found","already_exists","precondition_failed","payload_too_large","throttled","upstream_unavailable","timeout"]},
                "message": {"type": "string"},
                "s3_code": {"type": "string"},
                "request_id": {"type": "string"},
                "retryable": {"type": "boolean"}
            }}}}),
    );
    components.insert(
        "Document".into(),
        json!({"type": "object", "required": ["document_id","content_type","size","sha256","expires_at"], "properties": {
            "document_id": {"type": "string"}, "content_type": {"type": "string"}, "size": {"type": "integer", "minimum": 0},
            "file_name": {"type": ["string", "null"]}, "sha256": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}}}),
    );
    let conn_ref = || json!({"$ref": "#/components/schemas/Connection"});
    let object_params = json!([name_param,
        {"name": "bucket", "in": "path", "required": true, "schema": {"type": "string"}},
        {"name": "key", "in": "path", "required": true, "schema": {"type": "string"}}]);
    let doc_param =
        json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]);
    let fixed = json!({
        "/v1/health": {"get": {"operationId": "health", "security": [], "responses": {"200": json_response("the service is up", json!({"type": "object"}))}}},
        "/metrics": {"get": {"operationId": "metrics", "responses": with_errors(json!({"200": {"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": "string"}}}}}))}},
        "/v1/openapi.json": {"get": {"operationId": "openapi", "responses": with_errors(json!({"200": json_response("this document", json!({"type": "object"}))}))}},
        "/v1/actions": {"get": {"operationId": "list_actions", "responses": with_errors(json!({"200": json_response("the catalog with each action's input and output schema", json!({"type": "array", "items": {"type": "object"}}))}))}},
        "/v1/connections": {
            "get": {"operationId": "list_connections", "responses": with_errors(json!({"200": json_response("connections, secrets redacted", json!({"type": "object", "properties": {"connections": {"type": "array", "items": conn_ref()}}}))}))},
            "post": {"operationId": "create_connection", "requestBody": {"required": true, "content": {"application/json": {"schema": conn_ref()}}},
                     "responses": with_errors(json!({"201": json_response("created, secrets redacted", conn_ref())}))}
        },
        "/v1/connections/{name}": {
            "parameters": [name_param],
            "get": {"operationId": "get_connection", "responses": with_errors(json!({"200": json_response("the connection, secrets redacted", conn_ref())}))},
            "put": {"operationId": "put_connection", "requestBody": {"required": true, "content": {"application/json": {"schema": conn_ref()}}},
                    "responses": with_errors(json!({"200": json_response("replaced", conn_ref()), "201": json_response("created", conn_ref())}))},
            "delete": {"operationId": "delete_connection", "responses": with_errors(json!({"204": {"description": "deleted"}}))}
        },
        "/v1/connections/{name}/test": {"parameters": [name_param], "post": {"operationId": "test_connection", "responses": with_errors(json!({"200": json_response("the store accepted the credentials", json!({"type": "object"}))}))}},
        "/v1/connections/{name}/objects/{bucket}/{key}": {
            "parameters": object_params,
            "get": {"operationId": "get_object", "parameters": [{"name": "Range", "in": "header", "schema": {"type": "string"}}],
                    "responses": with_errors(json!({"200": {"description": "the object's bytes", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}, "206": {"description": "the requested range"}}))},
            "head": {"operationId": "head_object", "responses": with_errors(json!({"200": {"description": "the object's headers"}}))},
            "put": {"operationId": "put_object", "requestBody": {"required": true, "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                    "responses": with_errors(json!({"200": json_response("stored", json!({"type": "object"}))}))},
            "delete": {"operationId": "delete_object", "responses": with_errors(json!({"204": {"description": "deleted"}}))}
        },
        "/v1/documents": {"post": {"operationId": "create_document",
            "parameters": [{"name": "file_name", "in": "query", "schema": {"type": "string"}}],
            "requestBody": {"required": true, "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
            "responses": with_errors(json!({"201": json_response("the document", json!({"$ref": "#/components/schemas/Document"}))}))}},
        "/v1/documents/{id}": {"parameters": doc_param,
            "get": {"operationId": "get_document", "responses": with_errors(json!({"200": {"description": "the document's bytes", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}}))},
            "delete": {"operationId": "delete_document", "responses": with_errors(json!({"204": {"description": "deleted"}}))}}
    });
    if let Value::Object(fixed) = fixed {
        paths.extend(fixed);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "s3flow", "version": env!("CARGO_PKG_VERSION"), "description": "The s3flow connector service: every S3 action over HTTP."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ref_resolves() {
        let doc = document();
        let schemas = doc["components"]["schemas"].as_object().unwrap().clone();
        fn walk(v: &Value, schemas: &Map<String, Value>) {
            match v {
                Value::Object(map) => {
                    for (k, inner) in map {
                        if k == "$ref" {
                            let name = inner
                                .as_str()
                                .unwrap()
                                .strip_prefix("#/components/schemas/")
                                .expect("component ref");
                            assert!(schemas.contains_key(name), "dangling {name}");
                        } else {
                            walk(inner, schemas);
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|i| walk(i, schemas)),
                _ => {}
            }
        }
        walk(&doc, &schemas);
        for action in ACTIONS {
            assert!(doc["paths"]
                .get(format!("/v1/connections/{{name}}/actions/{action}"))
                .is_some());
        }
    }
}
