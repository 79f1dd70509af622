//! S3's endpoint rules behind a cache that ignores the object key.
//!
//! Why: the SDK passes each request's key to the endpoint rules and its own cache compares it,
//! so every new key ran the whole rule set again (URL parsing, partition regexes): 5 % of the
//! client's CPU in a 10,000-file download. The rules do not read the key (aws-sdk-s3 1.157);
//! the tests below fail if that, or the set of parameters compared here, changes.

use std::sync::Mutex;

use aws_sdk_s3::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use aws_smithy_runtime_api::client::endpoint::EndpointFuture;
use aws_smithy_types::endpoint::Endpoint;

/// Distinct answers kept: buckets × endpoints (a client and its presigner) × regions.
const KEPT: usize = 16;

#[derive(Debug, Default)]
pub(crate) struct CachedEndpoints {
    rules: DefaultResolver,
    /// Most recent first.
    answers: Mutex<Vec<(Params, Endpoint)>>,
}

impl CachedEndpoints {
    fn lookup(&self, params: &Params) -> Option<Endpoint> {
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers.iter().find(|(known, _)| same_but_key(known, params)).map(|(_, endpoint)| endpoint.clone())
    }

    fn keep(&self, params: &Params, endpoint: &Endpoint) {
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers.retain(|(known, _)| !same_but_key(known, params));
        answers.insert(0, (params.clone(), endpoint.clone()));
        answers.truncate(KEPT);
    }
}

impl ResolveEndpoint for CachedEndpoints {
    fn resolve_endpoint<'a>(&'a self, params: &'a Params) -> EndpointFuture<'a> {
        if let Some(endpoint) = self.lookup(params) {
            return EndpointFuture::ready(Ok(endpoint));
        }
        EndpointFuture::new(async move {
            let endpoint = self.rules.resolve_endpoint(params).await?;
            self.keep(params, &endpoint);
            Ok(endpoint)
        })
    }
}

/// Every parameter the rules read, which is all of them but the key.
fn same_but_key(a: &Params, b: &Params) -> bool {
    a.bucket() == b.bucket()
        && a.region() == b.region()
        && a.use_fips() == b.use_fips()
        && a.use_dual_stack() == b.use_dual_stack()
        && a.endpoint() == b.endpoint()
        && a.force_path_style() == b.force_path_style()
        && a.accelerate() == b.accelerate()
        && a.use_global_endpoint() == b.use_global_endpoint()
        && a.use_object_lambda_endpoint() == b.use_object_lambda_endpoint()
        && a.prefix() == b.prefix()
        && a.copy_source() == b.copy_source()
        && a.disable_access_points() == b.disable_access_points()
        && a.disable_multi_region_access_points() == b.disable_multi_region_access_points()
        && a.use_arn_region() == b.use_arn_region()
        && a.use_s3_express_control_endpoint() == b.use_s3_express_control_endpoint()
        && a.disable_s3_express_session_auth() == b.disable_s3_express_session_auth()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(bucket: &str, key: &str, endpoint: Option<&str>, path_style: bool) -> Params {
        Params::builder()
            .bucket(bucket)
            .key(key)
            .region("eu-west-1")
            .set_endpoint(endpoint.map(str::to_owned))
            .force_path_style(path_style)
            .build()
            .unwrap()
    }

    async fn resolve(resolver: &impl ResolveEndpoint, params: &Params) -> Endpoint {
        resolver.resolve_endpoint(params).await.unwrap()
    }

    #[tokio::test]
    async fn the_rules_give_every_key_the_same_endpoint() {
        let cases = [(None, false), (None, true), (Some("http://127.0.0.1:9000"), true), (Some("https://s3.example.com"), false)];
        for (endpoint, path_style) in cases {
            for bucket in ["docs", "my.dotted.bucket"] {
                let rules = DefaultResolver::new();
                let first = resolve(&rules, &params(bucket, "a.txt", endpoint, path_style)).await;
                let other = resolve(&rules, &params(bucket, "deep/other key?#.bin", endpoint, path_style)).await;
                assert_eq!(first, other, "{bucket} at {endpoint:?}");
            }
        }
    }

    #[tokio::test]
    async fn answers_are_the_rules_and_kept_per_bucket_and_endpoint() {
        let cached = CachedEndpoints::default();
        let rules = DefaultResolver::new();
        for (bucket, endpoint) in [("one", None), ("two", None), ("one", Some("http://127.0.0.1:9000")), ("one", None)] {
            for key in ["k1", "k2"] {
                let asked = params(bucket, key, endpoint, endpoint.is_some());
                assert_eq!(resolve(&cached, &asked).await, resolve(&rules, &asked).await);
            }
        }
        assert_eq!(cached.answers.lock().unwrap().len(), 3);
        let bad = Params::builder().bucket("x").region("eu-west-1").endpoint("not a url").build().unwrap();
        assert!(cached.resolve_endpoint(&bad).await.is_err());
        assert_eq!(cached.answers.lock().unwrap().len(), 3, "errors are not kept");
    }

    /// `same_but_key` names every parameter; a new one in the SDK must be added there.
    #[test]
    fn every_parameter_is_compared() {
        let debug = format!("{:?}", Params::builder().region("x").build().unwrap());
        let names: Vec<&str> = debug
            .split(['{', ',', '}'])
            .filter_map(|field| field.split_once(':').map(|(name, _)| name.trim()))
            .collect();
        assert_eq!(
            names,
            [
                "bucket",
                "region",
                "use_fips",
                "use_dual_stack",
                "endpoint",
                "force_path_style",
                "accelerate",
                "use_global_endpoint",
                "use_object_lambda_endpoint",
                "key",
                "prefix",
                "copy_source",
                "disable_access_points",
                "disable_multi_region_access_points",
                "use_arn_region",
                "use_s3_express_control_endpoint",
                "disable_s3_express_session_auth",
            ]
        );
    }
}
