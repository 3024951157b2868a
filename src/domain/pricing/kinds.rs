//! The pricing engine's vocabularies: ticket and time-entry categories, billing models and
//! invoice line kinds, with their wire names.

/// Ticket and time-entry category. Declaration order is the order lines are emitted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Technical,
    SubscriptionManagement,
    Billing,
}

impl Category {
    pub const ALL: [Category; 3] = [Category::Technical, Category::SubscriptionManagement, Category::Billing];

    pub fn as_str(&self) -> &'static str {
        match self {
            Category::Technical => "technical",
            Category::SubscriptionManagement => "subscription_management",
            Category::Billing => "billing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Lowercase words for running text on invoices ("subscription management").
    pub(super) fn words(&self) -> &'static str {
        match self {
            Category::Technical => "technical",
            Category::SubscriptionManagement => "subscription management",
            Category::Billing => "billing",
        }
    }

    /// Capitalised words for the start of a line description.
    pub(super) fn title(&self) -> &'static str {
        match self {
            Category::Technical => "Technical",
            Category::SubscriptionManagement => "Subscription management",
            Category::Billing => "Billing",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BillingModel {
    Included,
    Hourly,
    Retainer,
    PerIncident,
    /// Blocks of hours bought in advance and drawn down (SPEC 7.5).
    Prepaid,
}

impl BillingModel {
    pub const ALL: [BillingModel; 5] = [
        BillingModel::Included,
        BillingModel::Hourly,
        BillingModel::Retainer,
        BillingModel::PerIncident,
        BillingModel::Prepaid,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            BillingModel::Included => "included",
            BillingModel::Hourly => "hourly",
            BillingModel::Retainer => "retainer",
            BillingModel::PerIncident => "per_incident",
            BillingModel::Prepaid => "prepaid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        BillingModel::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineKind {
    SupportTime,
    AfterHoursSupportTime,
    RetainerFee,
    Overage,
    IncidentFee,
    Charge,
    BlockPurchase,
    /// Amount 0: the minutes a prepaid subscription drew and its balance.
    PrepaidUsage,
}

impl LineKind {
    pub const ALL: [LineKind; 8] = [
        LineKind::SupportTime,
        LineKind::AfterHoursSupportTime,
        LineKind::RetainerFee,
        LineKind::Overage,
        LineKind::IncidentFee,
        LineKind::Charge,
        LineKind::BlockPurchase,
        LineKind::PrepaidUsage,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            LineKind::SupportTime => "support_time",
            LineKind::AfterHoursSupportTime => "after_hours_support_time",
            LineKind::RetainerFee => "retainer_fee",
            LineKind::Overage => "overage",
            LineKind::IncidentFee => "incident_fee",
            LineKind::Charge => "charge",
            LineKind::BlockPurchase => "block_purchase",
            LineKind::PrepaidUsage => "prepaid_usage",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        LineKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Time lines carry `quantity_minutes` and a price per hour.
    pub fn is_time(&self) -> bool {
        matches!(
            self,
            LineKind::SupportTime | LineKind::AfterHoursSupportTime | LineKind::Overage | LineKind::PrepaidUsage
        )
    }
}
