// SPDX-License-Identifier: BUSL-1.1
//! The compliance rules of `spec/zone.yaml`, written out by hand for the unit tests, so that
//! they exercise this module against the real values without depending on the generator.

use super::ComplianceRules;

const FINANCIAL: &[&str] = &[
    "aml",
    "kyc",
    "tax",
    "corporate",
    "banking",
    "payments",
    "licensing",
    "securities",
];

pub(crate) static RULES: ComplianceRules = ComplianceRules {
    domains: &[
        "aml",
        "kyc",
        "sanctions",
        "tax",
        "securities",
        "corporate",
        "custody",
        "data_privacy",
        "licensing",
        "banking",
        "payments",
        "clearing",
        "settlement",
        "digital_assets",
        "employment",
        "immigration",
        "ip",
        "consumer_protection",
        "arbitration",
        "trade",
    ],
    hard_block: &["sanctions"],
    categories: &[("financial", FINANCIAL)],
    jurisdictions: &[
        ("pk", &["financial", "sanctions"]),
        (
            "ae",
            &[
                "financial",
                "sanctions",
                "digital_assets",
                "custody",
                "data_privacy",
            ],
        ),
        (
            "sg",
            &["financial", "sanctions", "digital_assets", "data_privacy"],
        ),
        ("hk", &["financial", "sanctions", "digital_assets"]),
        (
            "ky",
            &["financial", "sanctions", "digital_assets", "custody"],
        ),
    ],
    currencies: &[
        ("PKR", "PK"),
        ("AED", "AE"),
        ("USD", "US"),
        ("GBP", "GB"),
        ("EUR", "EU"),
        ("SGD", "SG"),
        ("CNY", "CN"),
        ("RMB", "CN"),
        ("SAR", "SA"),
        ("KYD", "KY"),
        ("SCR", "SC"),
        ("KZT", "KZ"),
        ("HKD", "HK"),
        ("BHD", "BH"),
        ("OMR", "OM"),
        ("QAR", "QA"),
        ("KWD", "KW"),
        ("INR", "IN"),
        ("JPY", "JP"),
        ("CHF", "CH"),
        ("CAD", "CA"),
        ("AUD", "AU"),
        ("MYR", "MY"),
        ("TRY", "TR"),
    ],
};
