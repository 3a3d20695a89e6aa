//! The gRPC methods this sidecar does not serve, told once each the first time an app calls one: an SDK app
//! that dies on `UNIMPLEMENTED` should be told which method it called and what to use instead, not left to
//! read a traceback (issue 18 item 14).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

/// Who hears of a method called but not served: the method's name (`PublishEvent`).
pub type UnservedListener = Arc<dyn Fn(&str) + Send + Sync>;

/// The methods served; the rest answer `UNIMPLEMENTED`.
pub const SERVED: &[&str] = &[
    "GetState",
    "GetBulkState",
    "SaveState",
    "DeleteState",
    "DeleteBulkState",
    "ExecuteStateTransaction",
    "InvokeService",
    "GetMetadata",
    "Shutdown",
];

#[derive(Default)]
pub(crate) struct Unserved {
    said: Mutex<HashSet<String>>,
    listener: OnceLock<UnservedListener>,
}

impl Unserved {
    /// Set once, by whoever runs the sidecar; later calls are ignored.
    pub fn listen(&self, listener: UnservedListener) {
        let _ = self.listener.set(listener);
    }

    /// `method` was called and answered `UNIMPLEMENTED`: tells the listener the first time only.
    pub fn called(&self, method: &str) {
        let first = self
            .said
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(method.to_string());
        if let (true, Some(listener)) = (first, self.listener.get()) {
            listener(method);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn each_method_is_told_once() {
        let told = Arc::new(Mutex::new(Vec::new()));
        let calls = Arc::new(AtomicUsize::new(0));
        let unserved = Unserved::default();
        unserved.called("PublishEvent"); // before anyone listens: remembered, not told
        let (t, c) = (told.clone(), calls.clone());
        unserved.listen(Arc::new(move |m: &str| {
            c.fetch_add(1, Ordering::SeqCst);
            t.lock().unwrap().push(m.to_string());
        }));
        for m in ["PublishEvent", "GetSecret", "GetSecret", "InvokeBinding", "GetSecret"] {
            unserved.called(m);
        }
        assert_eq!(*told.lock().unwrap(), ["GetSecret", "InvokeBinding"]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
