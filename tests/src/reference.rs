// SPDX-License-Identifier: BUSL-1.1
//! The Mass route tables as data, written down from the reference (not from `spec/`), so that
//! the generated suites' route counts are checked against a list the spec did not produce.
//!
//! Path parameters are written `{}`: the reference names them `:org_id`, the spec
//! `{organizationId}`, and only their place matters for routing.

/// The sovereign (direct) route table of the reference, §1.3 rows 1–39.
pub const MASS_DIRECT_ROUTES: [(&str, &str); 39] = [
    ("GET", "/health"),
    ("POST", "/organization-info/api/v1/organization/create"),
    ("POST", "/organization-info/api/v1/organization/search"),
    (
        "GET",
        "/organization-info/api/v1/organization/supported-jurisdictions",
    ),
    ("GET", "/organization-info/api/v1/organization/{}"),
    ("PUT", "/organization-info/api/v1/organization/{}"),
    ("DELETE", "/organization-info/api/v1/organization/{}"),
    ("GET", "/organization-info/api/v1/organization"),
    ("GET", "/organization-info/api/v1/membership/{}/members"),
    ("GET", "/organization-info/api/v1/board/{}"),
    ("POST", "/organization-info/api/v1/identity/cnic/verify"),
    ("POST", "/organization-info/api/v1/identity/ntn/verify"),
    ("POST", "/treasury-info/api/v1/treasury/create"),
    ("GET", "/treasury-info/api/v1/treasury/{}"),
    ("POST", "/treasury-info/api/v1/account/create"),
    ("GET", "/treasury-info/api/v1/account/{}"),
    ("POST", "/treasury-info/api/v1/transaction/create/payment"),
    ("GET", "/treasury-info/api/v1/transaction/{}"),
    ("POST", "/treasury-info/api/v1/tax-events"),
    ("GET", "/treasury-info/api/v1/tax-events"),
    ("POST", "/treasury-info/api/v1/withholding/compute"),
    ("POST", "/consent-info/api/v1/consents"),
    ("POST", "/consent-info/api/v1/consents/approve/{}"),
    ("POST", "/consent-info/api/v1/consents/reject/{}"),
    ("GET", "/consent-info/api/v1/consents/organization/{}"),
    ("GET", "/consent-info/api/v1/consents/{}"),
    ("DELETE", "/consent-info/api/v1/consents/{}"),
    ("POST", "/consent-info/api/v1/capTables"),
    ("GET", "/consent-info/api/v1/capTables/organization/{}"),
    ("GET", "/consent-info/api/v1/capTables/{}"),
    ("GET", "/consent-info/api/v1/shareClasses/organization/{}"),
    ("GET", "/consent-info/api/v1/shareholders/organization/{}"),
    ("GET", "/consent-info/api/v1/identities"),
    ("POST", "/investment-info/api/v1/investment"),
    ("GET", "/investment-info/api/v1/investment/{}"),
    ("POST", "/templating-engine/api/v1/template/sign"),
    ("GET", "/templating-engine/api/v1/template/available"),
    ("GET", "/templating-engine/api/v1/template/{}"),
    ("GET", "/templating-engine/api/v1/submission/{}"),
];

/// The direct routes this zone serves beyond the reference's table, each with its reason.
pub const ZONE_DIRECT_ADDITIONS: [(&str, &str, &str); 10] = [
    (
        "POST",
        "/organization-info/api/v1/membership/member",
        "members are written, so the members list can answer something",
    ),
    (
        "GET",
        "/organization-info/api/v1/membership/member/{}",
        "reads one member",
    ),
    (
        "PUT",
        "/organization-info/api/v1/membership/member/{}",
        "changes a member",
    ),
    (
        "DELETE",
        "/organization-info/api/v1/membership/member/{}",
        "removes a member",
    ),
    (
        "POST",
        "/organization-info/api/v1/board/director",
        "directors are written, so the board list can answer something",
    ),
    (
        "GET",
        "/organization-info/api/v1/board/director/{}",
        "reads one director",
    ),
    (
        "PUT",
        "/organization-info/api/v1/board/director/{}",
        "changes a director",
    ),
    (
        "DELETE",
        "/organization-info/api/v1/board/director/{}",
        "removes a director",
    ),
    (
        "GET",
        "/consent-info/api/v1/identities/{}",
        "reads one recorded identity check (the list route is in the reference)",
    ),
    (
        "GET",
        "/treasury-info/api/v1/treasury/entity/{}",
        "the Mass client's documented treasury-by-entity read (reference §3.4)",
    ),
];

/// The orchestrated route table of the reference, §2.1 (12 method+path pairs).
pub const MASS_V1_ROUTES: [(&str, &str); 12] = [
    ("GET", "/v1/entities"),
    ("POST", "/v1/entities"),
    ("GET", "/v1/entities/{}"),
    ("PUT", "/v1/entities/{}"),
    ("POST", "/v1/ownership/cap-tables"),
    ("GET", "/v1/ownership/cap-tables/{}"),
    ("POST", "/v1/fiscal/accounts"),
    ("POST", "/v1/fiscal/payments"),
    ("POST", "/v1/identity/verify"),
    ("GET", "/v1/identity/{}"),
    ("POST", "/v1/consent"),
    ("GET", "/v1/consent/{}"),
];

/// The `/v1` routes this zone serves beyond §2.1, each with its reason.
pub const ZONE_V1_ADDITIONS: [(&str, &str, &str); 2] = [
    (
        "POST",
        "/v1/identity/cnic/verify",
        "the reference's separate CNIC route (§2.6)",
    ),
    (
        "POST",
        "/v1/identity/ntn/verify",
        "the reference's separate NTN route (§2.6)",
    ),
];

/// The context paths of the Mass services the reference's direct table covers. A service the
/// zone adds (the README's asset registry) is the zone's own and is not compared; a route
/// added to one of these services is, and must be declared in [`ZONE_DIRECT_ADDITIONS`].
pub const MASS_SERVICES: [&str; 5] = [
    "/organization-info/",
    "/treasury-info/",
    "/consent-info/",
    "/investment-info/",
    "/templating-engine/",
];

/// Whether a direct route belongs to the reference's table: a Mass service's, or `/health`.
pub fn in_mass_services(path: &str) -> bool {
    path == "/health" || MASS_SERVICES.iter().any(|s| path.starts_with(s))
}

/// A path with every `{name}` parameter written `{}`.
pub fn unnamed(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push('{');
            }
            '}' => {
                in_param = false;
                out.push('}');
            }
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// Compares the (method, path) pairs a product serves with a reference table plus declared
/// additions; answers every difference, so a failure names what is missing or extra.
pub fn compare(
    served: &[(&str, &str)],
    reference: &[(&str, &str)],
    additions: &[(&str, &str, &str)],
) -> Vec<String> {
    use std::collections::BTreeMap;
    let mut counts: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (m, p) in served {
        *counts.entry((m.to_string(), unnamed(p))).or_default() += 1;
    }
    let expected = reference
        .iter()
        .copied()
        .chain(additions.iter().map(|(m, p, _)| (*m, *p)));
    for (m, p) in expected {
        *counts.entry((m.to_string(), p.to_string())).or_default() -= 1;
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|((m, p), n)| match n {
            n if n > 0 => format!("served but in neither table: {m} {p} (x{n})"),
            _ => format!("in the tables but not served: {m} {p}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_lose_their_names() {
        assert_eq!(
            unnamed("/a/{organizationId}/members/{id}"),
            "/a/{}/members/{}"
        );
    }

    #[test]
    fn a_missing_an_extra_and_a_doubled_route_are_each_reported() {
        let reference = [("GET", "/a/{}"), ("POST", "/b")];
        let additions = [("PUT", "/a/{}", "why")];
        assert!(
            compare(
                &[("GET", "/a/{id}"), ("POST", "/b"), ("PUT", "/a/{x}")],
                &reference,
                &additions
            )
            .is_empty()
        );
        // The old count compared the spec with itself; a route dropped from both the spec and
        // the product is caught here.
        let missing = compare(
            &[("GET", "/a/{id}"), ("PUT", "/a/{id}")],
            &reference,
            &additions,
        );
        assert_eq!(missing, ["in the tables but not served: POST /b"]);
        let extra = compare(
            &[
                ("GET", "/a/{id}"),
                ("POST", "/b"),
                ("PUT", "/a/{id}"),
                ("GET", "/c"),
            ],
            &reference,
            &additions,
        );
        assert_eq!(extra, ["served but in neither table: GET /c (x1)"]);
        let doubled = compare(
            &[
                ("GET", "/a/{id}"),
                ("GET", "/a/{x}"),
                ("POST", "/b"),
                ("PUT", "/a/{id}"),
            ],
            &reference,
            &additions,
        );
        assert_eq!(doubled, ["served but in neither table: GET /a/{} (x1)"]);
    }
}
