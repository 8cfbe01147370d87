"""Installing the chart cannot half-work: the one-shot Job is a hook, bad values fail at
install (not in every pod), the Jobs' deadline follows the sweep's timeout, and NOTES say
what the placeholder image and a report-only start mean."""

from __future__ import annotations

from typing import Any

import click
import pytest
from rendering import CHART, NAMESPACE, RELEASE, env_of, helm, one, render_chart

from sweeper.cli import commands as cli
from sweeper.cli import options


def notes(values: dict[str, Any] | None = None) -> str:
    with helm().Chart.load(CHART) as chart:
        rendered = chart.render(values=values or {}, name=RELEASE, namespace=NAMESPACE)
    (text,) = [text for path, text in rendered.items() if path.endswith("NOTES.txt")]
    return text


def test_the_oneshot_job_is_a_post_install_hook_with_a_delete_policy() -> None:
    job = one(render_chart({"oneshot": {"enabled": True}}), "Job")
    assert job["metadata"]["annotations"] == {
        "helm.sh/hook": "post-install",
        "helm.sh/hook-weight": "0",
        "helm.sh/hook-delete-policy": "before-hook-creation",
    }
    assert job["spec"]["ttlSecondsAfterFinished"] > 0  # a hook outlives the release otherwise


@pytest.mark.parametrize(
    ("timeout", "backoff", "deadline"),
    [
        (None, 1, 840),  # the sweeper's default 5m: the kustomize base's value
        ("5m", 1, 840),
        ("20m", 1, 2 * (1200 + 120)),
        ("1h30m", 0, 5400 + 120),
        ("90s", 2, 3 * (90 + 120)),
        ("250ms", 1, 2 * (1 + 120)),
        ("1.5m", 1, 2 * (90 + 120)),
    ],
)
def test_the_deadline_follows_the_timeout(timeout: str | None, backoff: int, deadline: int) -> None:
    values = {
        "sweeper": {"timeout": timeout},
        "job": {"backoffLimit": backoff},
        "oneshot": {"enabled": True},
    }
    objects = render_chart(values)
    cronjob = one(objects, "CronJob")["spec"]["jobTemplate"]["spec"]
    assert cronjob["activeDeadlineSeconds"] == deadline
    assert one(objects, "Job")["spec"]["activeDeadlineSeconds"] == deadline
    if timeout is not None:  # the pod gets the same timeout the deadline was derived from
        parsed = options.Duration().convert(timeout, None, None).total_seconds()
        assert deadline == (backoff + 1) * (int(-(-parsed // 1)) + 120)


def test_an_explicit_deadline_may_raise_it_but_not_lower_it() -> None:
    raised = one(render_chart({"job": {"activeDeadlineSeconds": 1000}}), "CronJob")
    assert raised["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 1000
    with pytest.raises(helm().HelmRenderError, match=r"shorter than the 2640 seconds"):
        render_chart({"sweeper": {"timeout": "20m"}, "job": {"activeDeadlineSeconds": 840}})


# Each value the sweeper refuses (exit 2 in every pod) must fail the install instead.
REFUSED_BY_THE_SWEEPER: list[tuple[dict[str, Any], str, list[str]]] = [
    ({"reasons": "foo"}, "/sweeper/reasons", ["--reasons", "foo"]),
    ({"reasons": "owner-deleted,foo"}, "/sweeper/reasons", ["--reasons", "owner-deleted,foo"]),
    ({"reasons": "orphaned-unowned"}, "includeUnowned", ["--reasons", "orphaned-unowned"]),
    ({"timeout": "0"}, "/sweeper/timeout", ["--timeout", "0"]),
    ({"timeout": "0s"}, "/sweeper/timeout", ["--timeout", "0s"]),
    ({"timeout": "5M"}, "/sweeper/timeout", ["--timeout", "5M"]),
    ({"minAge": "5M"}, "/sweeper/minAge", ["--min-age", "5M"]),
    ({"requestTimeout": "0"}, "/sweeper/requestTimeout", ["--request-timeout", "0"]),
    ({"qps": 0}, "/sweeper/qps", ["--qps", "0"]),
    ({"burst": 0}, "/sweeper/burst", ["--burst", "0"]),
    ({"output": "yaml"}, "/sweeper/output", ["--output", "yaml"]),
]


def _sweeper_refuses(args: list[str]) -> bool:
    """Whether ``sweeper sweep ARGS`` stops with a usage error before connecting."""
    try:
        context = cli.sweep.make_context("sweep", list(args))
        options.build_settings(context.params)
    except (click.UsageError, click.BadParameter, ValueError):
        return True
    return False


@pytest.mark.parametrize(("sweeper", "complaint", "args"), REFUSED_BY_THE_SWEEPER)
def test_the_schema_refuses_what_the_sweeper_refuses(
    sweeper: dict[str, Any], complaint: str, args: list[str]
) -> None:
    assert _sweeper_refuses(args), args  # the premise: the CLI refuses it
    with pytest.raises(helm().HelmValuesError, match=complaint):
        render_chart({"sweeper": sweeper})


@pytest.mark.parametrize(
    ("sweeper", "args"),
    [
        ({"reasons": "all"}, ["--reasons", "all"]),
        ({"reasons": "owner-deleted,not-wanted"}, ["--reasons", "owner-deleted,not-wanted"]),
        (
            {"reasons": "orphaned-unowned,owner-deleted", "includeUnowned": True},
            ["--reasons", "orphaned-unowned,owner-deleted", "--include-unowned"],
        ),
        ({"timeout": "0.5s", "minAge": "0"}, ["--timeout", "0.5s", "--min-age", "0"]),
        ({"requestTimeout": "30"}, ["--request-timeout", "30"]),
        ({"qps": 0.5, "burst": 1}, ["--qps", "0.5", "--burst", "1"]),
        ({"output": "auto"}, ["--output", "auto"]),
        ({"output": "text"}, ["--output", "text"]),
    ],
)
def test_the_schema_accepts_what_the_sweeper_accepts(
    sweeper: dict[str, Any], args: list[str]
) -> None:
    assert not _sweeper_refuses(args), args
    cronjob = one(render_chart({"sweeper": sweeper}), "CronJob")
    assert env_of(cronjob["spec"]["jobTemplate"]["spec"])


def test_notes_warn_loudly_about_the_placeholder_image() -> None:
    text = notes()
    assert "WARNING: image.repository is the placeholder" in text
    assert "--set image.repository=" in text
    assert "DELETES what it finds" in text and "--set sweeper.dryRun=true" in text
    own = notes(
        {
            "image": {"repository": "registry.example.com/gatekeeper-sweeper"},
            "sweeper": {"dryRun": True},
        }
    )
    assert "WARNING" not in own
    assert "as a DRY RUN" in own and "registry.example.com/gatekeeper-sweeper:" in own


def test_the_observer_role_exists_only_when_observing() -> None:
    blind = render_chart({"gatekeeper": {"observe": False}})
    assert not [o for o in blind if o["metadata"].get("namespace") == "gatekeeper-system"]
    role = one(render_chart(), "Role", "-observer")
    assert role["rules"] == [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
    ]


def test_the_network_policy_opens_nothing_it_was_not_told() -> None:
    """By default only the API server and DNS; the webhook has no 0.0.0.0/0 default."""
    base = {"networkPolicy": {"enabled": True, "apiServer": {"cidrs": ["10.0.0.1/32"]}}}
    policy = one(render_chart(base), "NetworkPolicy")["spec"]
    cidrs = [
        peer.get("ipBlock", {}).get("cidr") for rule in policy["egress"] for peer in rule["to"]
    ]
    assert "0.0.0.0/0" not in cidrs and cidrs[0] == "10.0.0.1/32"
    with pytest.raises(helm().HelmRenderError, match=r"networkPolicy\.webhook\.to"):
        render_chart({**base, "notify": {"existingSecret": "hook"}})
