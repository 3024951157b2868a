//! A plan's terms over time (SPEC 7.2): its versions, each in force from its `effective_from`
//! until the next one, the first also before its own date.

use std::sync::Arc;

use chrono::NaiveDate;

use crate::domain::pricing::*;

/// One version of a plan's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanVersion {
    pub effective_from: NaiveDate,
    pub terms: PlanTerms,
}

/// Every version of one plan, in `effective_from` order; never empty. Cheap to clone, because
/// each subscription of the plan carries it into the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanVersions(Arc<[PlanVersion]>);

impl PlanVersions {
    /// None when `versions` is empty. Of two versions with the same date the later one counts
    /// (storage keeps them unique anyway).
    pub fn new(mut versions: Vec<PlanVersion>) -> Option<PlanVersions> {
        versions.sort_by_key(|v| v.effective_from);
        versions.reverse();
        versions.dedup_by_key(|v| v.effective_from);
        versions.reverse();
        if versions.is_empty() {
            None
        } else {
            Some(PlanVersions(versions.into()))
        }
    }

    /// A plan with one version, in force on every date.
    pub fn single(effective_from: NaiveDate, terms: PlanTerms) -> PlanVersions {
        PlanVersions(Arc::new([PlanVersion { effective_from, terms }]))
    }

    /// The version in force on `date`: the greatest `effective_from` <= `date`, else the first.
    pub fn in_force(&self, date: NaiveDate) -> &PlanVersion {
        let after = self.0.partition_point(|v| v.effective_from <= date);
        &self.0[after.saturating_sub(1)]
    }

    pub fn all(&self) -> &[PlanVersion] {
        &self.0
    }

    /// Plan-level, the same in every version.
    pub fn billing_model(&self) -> BillingModel {
        self.0[0].terms.billing_model
    }

    /// The versions in force at some time in `[start, end)`, oldest first.
    pub fn in_force_between(&self, start: NaiveDate, end: NaiveDate) -> &[PlanVersion] {
        let first = self.0.partition_point(|v| v.effective_from <= start).saturating_sub(1);
        let last = self.0.partition_point(|v| v.effective_from < end).max(first + 1);
        &self.0[first..last]
    }
}
