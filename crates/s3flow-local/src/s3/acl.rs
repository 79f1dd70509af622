//! Object ACLs: there is one account, so an ACL is the owner's full control, plus the
//! public grants a stored canned ACL implies. Canned ACLs are accepted and stored.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use super::common::{check_canned_acl, owner};
use super::LocalS3;

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

fn group_grant(uri: &str, permission: &'static str) -> Grant {
    Grant {
        grantee: Some(Grantee {
            display_name: None,
            email_address: None,
            id: None,
            type_: Type::from_static(Type::GROUP),
            uri: Some(uri.to_owned()),
        }),
        permission: Some(Permission::from_static(permission)),
    }
}

/// The grants of a canned ACL (`None` = private).
pub fn owner_full_control(canned: Option<&str>) -> Vec<Grant> {
    let owner = owner();
    let mut grants = vec![Grant {
        grantee: Some(Grantee {
            display_name: owner.display_name,
            email_address: None,
            id: owner.id,
            type_: Type::from_static(Type::CANONICAL_USER),
            uri: None,
        }),
        permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
    }];
    match canned {
        Some(ObjectCannedACL::PUBLIC_READ) => grants.push(group_grant(ALL_USERS, Permission::READ)),
        Some(ObjectCannedACL::PUBLIC_READ_WRITE) => {
            grants.push(group_grant(ALL_USERS, Permission::READ));
            grants.push(group_grant(ALL_USERS, Permission::WRITE));
        }
        Some(ObjectCannedACL::AUTHENTICATED_READ) => {
            grants.push(group_grant(AUTHENTICATED_USERS, Permission::READ))
        }
        _ => {}
    }
    grants
}

impl LocalS3 {
    pub(super) fn do_get_object_acl(
        &self,
        req: &S3Request<GetObjectAclInput>,
    ) -> S3Result<S3Response<GetObjectAclOutput>> {
        let input = &req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let meta = bucket.lookup(&input.key, input.version_id.as_deref())?;
        Ok(S3Response::new(GetObjectAclOutput {
            grants: Some(owner_full_control(meta.acl.as_deref())),
            owner: Some(owner()),
            request_charged: None,
        }))
    }

    pub(super) async fn do_put_object_acl(
        &self,
        req: S3Request<PutObjectAclInput>,
    ) -> S3Result<S3Response<PutObjectAclOutput>> {
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        // An explicit policy document is accepted and not interpreted (single account); a
        // canned ACL is stored and reflected by GetObjectAcl.
        let acl = check_canned_acl(input.acl.as_ref())?;
        bucket
            .update_meta(&input.key, input.version_id.as_deref(), |meta| {
                if acl.is_some() {
                    meta.acl = acl;
                }
            })
            .await?;
        Ok(S3Response::new(PutObjectAclOutput::default()))
    }
}
