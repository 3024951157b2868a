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
}

impl BillingModel {
    pub const ALL: [BillingModel; 4] =
        [BillingModel::Included, BillingModel::Hourly, BillingModel::Retainer, BillingModel::PerIncident];

    pub fn as_str(&self) -> &'static str {
        match self {
            BillingModel::Included => "included",
            BillingModel::Hourly => "hourly",
            BillingModel::Retainer => "retainer",
            BillingModel::PerIncident => "per_incident",
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
}

impl LineKind {
    pub const ALL: [LineKind; 6] = [
        LineKind::SupportTime,
        LineKind::AfterHoursSupportTime,
        LineKind::RetainerFee,
        LineKind::Overage,
        LineKind::IncidentFee,
        LineKind::Charge,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            LineKind::SupportTime => "support_time",
            LineKind::AfterHoursSupportTime => "after_hours_support_time",
            LineKind::RetainerFee => "retainer_fee",
            LineKind::Overage => "overage",
            LineKind::IncidentFee => "incident_fee",
            LineKind::Charge => "charge",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        LineKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Time lines carry `quantity_minutes` and a price per hour.
    pub fn is_time(&self) -> bool {
        matches!(self, LineKind::SupportTime | LineKind::AfterHoursSupportTime | LineKind::Overage)
    }
}
