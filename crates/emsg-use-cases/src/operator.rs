//! The operator at the command line as an [`Actor`]: an administrator who is no user, written
//! in the audit log as the operator.

use emsg_engine::Acting;
use emsg_store::UserId;
use emsg_store::audit::Actor as AuditActor;
use emsg_store::users::Role;

use crate::Actor;

impl Actor {
    /// The operator running `emsg` at the command line: every use case is open to them.
    pub fn operator() -> Self {
        Self {
            user: None,
            name: "the operator".to_owned(),
            role: Role::Administrator,
        }
    }

    /// Who the audit log names for what this actor does.
    pub fn audit_actor(&self) -> AuditActor {
        match self.user {
            Some(id) => AuditActor::User { id: id.get() },
            None => AuditActor::Operator,
        }
    }

    /// Who the engine acts for: a user about their own connection, or the operator about
    /// `for_user`'s connection (the company's when none).
    pub fn acting(&self, for_user: Option<UserId>) -> Acting {
        match self.user {
            Some(id) => Acting::User(id),
            None => Acting::Operator { for_user },
        }
    }
}
