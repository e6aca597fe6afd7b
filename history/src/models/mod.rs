//! The built-in models and their names.

mod kv;
mod list_append;
mod mutex;
mod register;
mod txn;
mod versioned;

pub use kv::{append_value, KvMap, KvState};
pub use list_append::ListAppend;
pub use mutex::Mutex;
pub use register::Register;
pub use txn::Txn;
pub use versioned::{VersionedObject, VersionedState};

use crate::{check, CheckError, CheckOptions, CheckResult, History, Value};

/// A built-in model, by the name users pass to `faultline check --model`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// [`Register`] without cas: `register`.
    Register,
    /// [`Register`] with cas: `cas-register`.
    CasRegister,
    /// [`Txn`]: `txn`.
    Txn,
    /// [`KvMap`]: `kv`.
    Kv,
    /// [`ListAppend`]: `list-append`.
    ListAppend,
    /// [`VersionedObject`]: `versioned`.
    Versioned,
    /// [`Mutex`]: `mutex`.
    Mutex,
}

impl ModelKind {
    /// Every built-in model.
    pub const ALL: [ModelKind; 7] = [
        ModelKind::Register,
        ModelKind::CasRegister,
        ModelKind::Txn,
        ModelKind::Kv,
        ModelKind::ListAppend,
        ModelKind::Versioned,
        ModelKind::Mutex,
    ];

    /// The model's name.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::Txn => "txn",
            ModelKind::Kv => "kv",
            ModelKind::ListAppend => "list-append",
            ModelKind::Versioned => "versioned",
            ModelKind::Mutex => "mutex",
        }
    }

    /// The model with this name.
    pub fn from_name(name: &str) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Whether operations carry a key (importers split Jepsen `[key value]` tuples for these).
    pub fn keyed(self) -> bool {
        matches!(
            self,
            ModelKind::Kv | ModelKind::ListAppend | ModelKind::Versioned
        )
    }

    /// Whether the model takes an initial value.
    pub fn takes_init(self) -> bool {
        matches!(
            self,
            ModelKind::Register | ModelKind::CasRegister | ModelKind::Kv | ModelKind::Txn
        )
    }

    /// Checks `history` with this model; `init` is the initial value where the model has one.
    pub fn check(
        self,
        init: Value,
        history: &History,
        options: &CheckOptions,
    ) -> Result<CheckResult, CheckError> {
        match self {
            ModelKind::Register => check(&Register { init, cas: false }, history, options),
            ModelKind::CasRegister => check(&Register { init, cas: true }, history, options),
            ModelKind::Txn => check(&Txn { init }, history, options),
            ModelKind::Kv => check(&KvMap { init }, history, options),
            ModelKind::ListAppend => check(&ListAppend, history, options),
            ModelKind::Versioned => check(&VersionedObject, history, options),
            ModelKind::Mutex => check(&Mutex, history, options),
        }
    }
}
