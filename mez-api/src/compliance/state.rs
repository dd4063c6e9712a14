// SPDX-License-Identifier: BUSL-1.1
//! The six compliance states and the lattice that combines them.
//!
//! From worst to best: `non_compliant < expired < pending < not_applicable < exempt <
//! compliant`. `expired` (evidence that once decided the domain is past its validity) is
//! worse than `pending` because it is not merely missing: what was shown no longer holds, and
//! an operator must renew it. The
//! overall state of an operation is the meet (minimum) of its domains' states, so one
//! non-compliant domain makes the whole operation non-compliant and one pending domain keeps
//! it from being compliant: the combination is pessimistic on purpose.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The state of one compliance domain, serialised in snake_case (`non_compliant`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplianceState {
    /// Evidence shows the domain's requirements are met.
    Compliant,
    /// Evidence shows the domain's requirements are broken.
    NonCompliant,
    /// The evidence that decided the domain is older than its rule's validity.
    Expired,
    /// No evidence either way yet.
    Pending,
    /// The domain applies, but the subject is exempt from it.
    Exempt,
    /// The domain does not apply in this jurisdiction.
    NotApplicable,
}

impl ComplianceState {
    /// Every state, from worst to best.
    pub const ALL: [ComplianceState; 6] = [
        Self::NonCompliant,
        Self::Expired,
        Self::Pending,
        Self::NotApplicable,
        Self::Exempt,
        Self::Compliant,
    ];

    /// The position in the lattice, worst (0) to best (5). The ordering is spelled out here
    /// rather than left to the declaration order of the variants, so that reordering the enum
    /// cannot silently change what "worse" means.
    pub const fn rank(self) -> u8 {
        match self {
            Self::NonCompliant => 0,
            Self::Expired => 1,
            Self::Pending => 2,
            Self::NotApplicable => 3,
            Self::Exempt => 4,
            Self::Compliant => 5,
        }
    }

    /// The greatest lower bound: the worse of the two.
    pub fn meet(self, other: Self) -> Self {
        if self.rank() <= other.rank() {
            self
        } else {
            other
        }
    }

    /// The least upper bound: the better of the two.
    pub fn join(self, other: Self) -> Self {
        if self.rank() >= other.rank() {
            self
        } else {
            other
        }
    }

    /// Whether the state lets an operation through: compliant, exempt or not applicable.
    pub const fn is_passing(self) -> bool {
        matches!(self, Self::Compliant | Self::Exempt | Self::NotApplicable)
    }

    /// Whether the state is final (no further evidence would change it): compliant,
    /// non-compliant or exempt.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Compliant | Self::NonCompliant | Self::Exempt)
    }

    /// The snake_case name, as serialised.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "compliant",
            Self::NonCompliant => "non_compliant",
            Self::Expired => "expired",
            Self::Pending => "pending",
            Self::Exempt => "exempt",
            Self::NotApplicable => "not_applicable",
        }
    }
}

impl fmt::Display for ComplianceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialOrd for ComplianceState {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ComplianceState {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

#[cfg(test)]
mod tests {
    use super::ComplianceState::{self, *};

    #[test]
    fn order_is_worst_to_best() {
        assert!(NonCompliant < Expired);
        assert!(Expired < Pending);
        assert!(Pending < NotApplicable);
        assert!(NotApplicable < Exempt);
        assert!(Exempt < Compliant);
        let mut shuffled = vec![
            Compliant,
            Pending,
            Exempt,
            Expired,
            NonCompliant,
            NotApplicable,
        ];
        shuffled.sort();
        assert_eq!(shuffled, ComplianceState::ALL.to_vec());
    }

    #[test]
    fn meet_is_min_and_join_is_max() {
        for a in ComplianceState::ALL {
            for b in ComplianceState::ALL {
                assert_eq!(a.meet(b), a.min(b), "{a} meet {b}");
                assert_eq!(a.join(b), a.max(b), "{a} join {b}");
                assert_eq!(a.meet(b), b.meet(a));
            }
            // Compliant is the identity of meet; non-compliant absorbs.
            assert_eq!(a.meet(Compliant), a);
            assert_eq!(a.meet(NonCompliant), NonCompliant);
        }
    }

    #[test]
    fn passing_states() {
        let passing: Vec<_> = ComplianceState::ALL
            .into_iter()
            .filter(|s| s.is_passing())
            .collect();
        assert_eq!(passing, vec![NotApplicable, Exempt, Compliant]);
        let terminal: Vec<_> = ComplianceState::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(terminal, vec![NonCompliant, Exempt, Compliant]);
    }

    #[test]
    fn serialises_snake_case() {
        for state in ComplianceState::ALL {
            let json = serde_json::to_value(state).unwrap();
            assert_eq!(json, serde_json::Value::String(state.as_str().into()));
            assert_eq!(state.to_string(), state.as_str());
            let back: ComplianceState = serde_json::from_value(json).unwrap();
            assert_eq!(back, state);
        }
        assert_eq!(
            serde_json::to_string(&NonCompliant).unwrap(),
            "\"non_compliant\""
        );
        assert_eq!(
            serde_json::to_string(&NotApplicable).unwrap(),
            "\"not_applicable\""
        );
    }
}
