//! The operator at the command line as an [`Actor`]: an administrator who is no user, written
//! in the audit log as the operator.

use emsg_engine::Acting;
use emsg_store::UserId;
use emsg_store::audit::Actor as AuditActor;
use emsg_store::users::Role;

use crate::Actor;

/// The operator's id: no user has it (user ids begin at 1; 0 is the company's place in a
/// connection).
const OPERATOR: i64 = 0;

impl Actor {
    /// The operator running `emsg` at the command line: every use case is open to them.
    pub fn operator() -> Self {
        Self {
            id: OPERATOR,
            name: "the operator".to_owned(),
            role: Role::Administrator,
        }
    }

    pub fn is_operator(&self) -> bool {
        self.id == OPERATOR
    }

    /// Who the audit log names for what this actor does.
    pub fn audit_actor(&self) -> AuditActor {
        if self.is_operator() {
            AuditActor::Operator
        } else {
            AuditActor::User { id: self.id }
        }
    }

    /// Who the engine acts for: a user about their own connection, or the operator about
    /// `for_user`'s connection (the company's when none).
    pub fn acting(&self, for_user: Option<i64>) -> Acting {
        if self.is_operator() {
            Acting::Operator {
                for_user: for_user.map(UserId::new),
            }
        } else {
            Acting::User(UserId::new(self.id))
        }
    }
}
