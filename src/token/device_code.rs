//! The device authorization grant at the token endpoint (RFC 8628 §3.4, §3.5): what a
//! poll is answered while the user decides, and whether an approved code's tokens may be
//! issued. The store finds the code and redeems it ([`crate::store::DeviceStore`]).

use crate::error::{ErrorCode, OAuthError};
use crate::store::DevicePoll;

/// The refusal for every poll that issues nothing; `None` for [`DevicePoll::Redeemed`].
pub fn poll_refusal(poll: &DevicePoll) -> Option<OAuthError> {
    let invalid = |detail: &str| OAuthError::invalid_grant("invalid device code").with_detail(detail.to_owned());
    Some(match poll {
        // RFC 6749 §5.2: a grant that is unknown or was issued to another client.
        DevicePoll::Unknown => invalid("unknown device code"),
        DevicePoll::OtherClient => invalid("device code was issued to another client"),
        // RFC 8628 §3.5: "The device_code has expired".
        DevicePoll::Expired => OAuthError::new(ErrorCode::ExpiredToken, "the device code has expired"),
        // RFC 8628 §3.5: polling faster than the interval: slow_down, and the interval
        // MUST grow by 5 seconds for this and all later polls.
        DevicePoll::Pending {
            slow_down: true,
            interval,
        } => OAuthError::new(ErrorCode::SlowDown, "polling too fast; wait longer between requests")
            .with_detail(format!("interval now {interval} s")),
        // RFC 8628 §3.5: the user has not finished yet.
        DevicePoll::Pending { slow_down: false, .. } => {
            OAuthError::new(ErrorCode::AuthorizationPending, "the user has not yet decided")
        }
        // RFC 8628 §3.5: the user denied the request.
        DevicePoll::Denied => OAuthError::new(ErrorCode::AccessDenied, "the user denied the request"),
        // A device code is redeemed once; like a code used twice (RFC 6749 §4.1.2).
        DevicePoll::AlreadyRedeemed => invalid("device code already used"),
        DevicePoll::Redeemed { .. } => return None,
    })
}

/// RFC 8628 §3.5: whether a poll at `now` came too early (before `interval` seconds had
/// passed since `last_poll`), and the interval from now on: grown by `step` (5 s, §3.5
/// "MUST be increased by 5 seconds for this and all subsequent requests") when it did,
/// never past `max`.
pub fn pace(last_poll: Option<i64>, interval: i64, now: i64, step: i64, max: i64) -> (bool, i64) {
    match last_poll {
        Some(last) if now < last.saturating_add(interval) => {
            (true, interval.saturating_add(step).min(max).max(interval))
        }
        _ => (false, interval),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing() {
        // (last poll, interval, now, too early, interval after)
        #[rustfmt::skip]
        let table = [
            (None, 5, 100, false, 5),
            (Some(100), 5, 104, true, 10),
            (Some(100), 5, 105, false, 5),
            (Some(100), 10, 109, true, 15),
            (Some(100), 10, 110, false, 10),
            // Capped at the maximum, never shrunk.
            (Some(100), 60, 101, true, 60),
            (Some(100), 58, 101, true, 60),
        ];
        for (last, interval, now, early, after) in table {
            assert_eq!(
                pace(last, interval, now, 5, 60),
                (early, after),
                "{last:?} {interval} {now}"
            );
        }
    }

    #[test]
    fn answers() {
        use ErrorCode::*;
        #[rustfmt::skip]
        let table = [
            (DevicePoll::Unknown, InvalidGrant),
            (DevicePoll::OtherClient, InvalidGrant),
            (DevicePoll::Expired, ExpiredToken),
            (DevicePoll::Pending { slow_down: true, interval: 10 }, SlowDown),
            (DevicePoll::Pending { slow_down: false, interval: 5 }, AuthorizationPending),
            (DevicePoll::Denied, AccessDenied),
            (DevicePoll::AlreadyRedeemed, InvalidGrant),
        ];
        for (poll, want) in table {
            let e = poll_refusal(&poll).map(|e| e.code);
            assert_eq!(e, Some(want), "{poll:?}");
            // RFC 8628 §3.5: all of them are 400 answers.
            assert_eq!(poll_refusal(&poll).map(|e| e.status()), Some(400));
        }
        assert_eq!(ExpiredToken.as_str(), "expired_token");
        assert_eq!(SlowDown.as_str(), "slow_down");
        assert_eq!(AuthorizationPending.as_str(), "authorization_pending");
    }
}
