//! The customer's copy of their data (PIPL 查阅复制权): the rules of an export
//! job's life and of what is too large to answer at once.

string_enum! {
    /// Where an export job is: `queued` until a worker takes it, `running`
    /// while one builds the ZIP, `ready` to download until it expires,
    /// `failed` (the error says why; ask again), `expired` (the ZIP deleted).
    pub enum ExportState {
        Queued = "queued",
        Running = "running",
        Ready = "ready",
        Failed = "failed",
        Expired = "expired",
    }
}

impl ExportState {
    /// Still to be built: a customer has at most one such job.
    pub fn pending(self) -> bool {
        matches!(self, ExportState::Queued | ExportState::Running)
    }

    /// The moves a job may make; everything else is refused.
    pub fn may_become(self, to: ExportState) -> bool {
        use ExportState::*;
        matches!(
            (self, to),
            (Queued, Running)
                | (Running, Running) // taken over after a lease ran out
                | (Running, Ready)
                | (Running, Failed)
                | (Ready, Expired)
        )
    }
}

/// Above this many repair orders the copy is built as a job (409 on the direct answer).
pub const MAX_DIRECT_ORDERS: u64 = 100;
/// Above this many photos likewise.
pub const MAX_DIRECT_PHOTOS: u64 = 300;

/// Whether the copy is too large to answer in the request.
pub fn too_large(orders: u64, photos: u64) -> bool {
    orders > MAX_DIRECT_ORDERS || photos > MAX_DIRECT_PHOTOS
}

/// The file extension of a photo's content type (`bin` for anything unknown).
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/heic" => "heic",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_moves_forward_only() {
        use ExportState::*;
        assert!(Queued.may_become(Running));
        assert!(Running.may_become(Ready));
        assert!(Ready.may_become(Expired));
        assert!(!Ready.may_become(Running));
        assert!(!Expired.may_become(Ready));
        assert!(!Failed.may_become(Running));
        assert!(Queued.pending() && Running.pending() && !Ready.pending());
    }

    #[test]
    fn the_limits_are_inclusive() {
        assert!(!too_large(100, 300));
        assert!(too_large(101, 0));
        assert!(too_large(0, 301));
        assert_eq!(extension("image/jpeg"), "jpg");
        assert_eq!(extension("text/html"), "bin");
    }
}
