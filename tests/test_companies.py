"""Company resolution (DESIGN's rules, as a table) and the user's edits surviving re-imports."""

from __future__ import annotations

import tracemalloc

import pytest
from sqlalchemy import text

from tests.support import mail, options
from vault import company_edits, queries
from vault.bookings import is_weak_reference
from vault.companies import clean_display_name, identify
from vault.errors import UsageError
from vault.ingest import Ingestor
from vault.names import airline_name, company_name, is_role_address
from vault.records import CompanyHints, Interaction, Party
from vault.store import Store

ME = "sanne@devries.example"


def chat(kind: str | None, title: str, sender: str = "Shop Bot") -> Interaction:
    item = mail(1, direction="in")
    item.channel = "chat"
    item.sender = Party(sender, "user42", "chat_handle")
    item.thread_key = f"telegram:{title}"
    item.thread_title = title
    item.hints = CompanyHints(chat_kind=kind)  # type: ignore[arg-type]
    return item


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        # Rule 3: the registrable domain of an inbound sender.
        (mail(1, "KLM <noreply@info.klm.com>"), ("email_domain", "klm.com", "company")),
        (mail(1, "Tesco <news@mail.tesco.co.uk>"), ("email_domain", "tesco.co.uk", "company")),
        # ... and of the recipient of an outbound mail; the user's own address never counts.
        (
            mail(1, f"Me <{ME}>", to="klantenservice@coolblue.nl", direction="out"),
            ("email_domain", "coolblue.nl", "company"),
        ),
        # Rule 4: ESP relays are unwrapped by DKIM d=, then Reply-To, then List-Id/Unsubscribe.
        (
            mail(
                1,
                "Zalando <bounce-123@bounce.sendgrid.net>",
                hints=CompanyHints(dkim_domains=["sendgrid.net", "zalando.nl"]),
            ),
            ("email_domain", "zalando.nl", "company"),
        ),
        (
            mail(1, "Spotify <x@mcsv.net>", hints=CompanyHints(reply_to=["hi@spotify.com"])),
            ("email_domain", "spotify.com", "company"),
        ),
        (
            mail(1, "News <n@amazonses.com>", hints=CompanyHints(list_domains=["news.ikea.nl"])),
            ("email_domain", "ikea.nl", "company"),
        ),
        (mail(1, "Bol.com <a@mailgun.org>"), ("name", "bol", "company")),
        # Rule 5: freemail means a person, identified by the address itself.
        (
            mail(1, "Oma Truus <truus1948@hotmail.nl>"),
            ("email_address", "truus1948@hotmail.nl", "person"),
        ),
        (
            mail(1, "Frutos <smgsiso@yahoo.com.mx>"),
            ("email_address", "smgsiso@yahoo.com.mx", "person"),
        ),
        # A colleague on the user's own domain is a person, never the user's "company".
        (mail(1, "Jan <jan@devries.example>"), ("email_address", "jan@devries.example", "person")),
        # Rule 5: at an internet provider's domain role addresses are the provider ...
        (mail(1, "Ziggo <noreply@ziggo.nl>"), ("email_domain", "ziggo.nl", "company")),
        (
            mail(1, "KPN Klantenservice <klantenservice@kpnmail.nl>"),
            ("email_domain", "kpnmail.nl", "company"),
        ),
        # ... and every other address there a person.
        (
            mail(1, "Henk de Boer <henk.deboer@ziggo.nl>"),
            ("email_address", "henk.deboer@ziggo.nl", "person"),
        ),
        (
            mail(1, "Gerrit <gerrit1957@kpnmail.nl>"),
            ("email_address", "gerrit1957@kpnmail.nl", "person"),
        ),
        # Rule 5: a list's post is with the list, whoever posted it (gmane, Google Groups,
        # groups.io, Mailman, a Sender at the list's domain).
        (
            mail(
                1,
                "Alice <alice-Xyz1Ab@public.gmane.org>",
                hints=CompanyHints(list_id="linux-kernel.vger.kernel.org"),
            ),
            ("list_id", "linux-kernel.vger.kernel.org", "list"),
        ),
        (
            mail(
                1,
                "'Bob' via Kluis Users <kluis-users@googlegroups.com>",
                hints=CompanyHints(list_id="kluis-users.googlegroups.com"),
            ),
            ("list_id", "kluis-users.googlegroups.com", "list"),
        ),
        (
            mail(
                1,
                "Ivan <ivan@suse.de>",
                hints=CompanyHints(
                    list_id="linux-kernel.vger.kernel.org",
                    sender="linux-kernel-owner@vger.kernel.org",
                ),
            ),
            ("list_id", "linux-kernel.vger.kernel.org", "list"),
        ),
        (
            mail(
                1,
                "Timo <tss@iki.fi>",
                hints=CompanyHints(list_id="dovecot.dovecot.org", list_post=True),
            ),
            ("list_id", "dovecot.dovecot.org", "list"),
        ),
        # A brand's own announcement list, or an ESP's campaign id, is the brand's marketing.
        (
            mail(
                1,
                "Coolblue <nieuwsbrief@coolblue.nl>",
                hints=CompanyHints(list_id="nieuwsbrief.coolblue.nl", precedence="list"),
            ),
            ("email_domain", "coolblue.nl", "company"),
        ),
        (
            mail(
                1,
                "Picnic <picnic@mcsv.net>",
                hints=CompanyHints(list_id="abc123.list-id.mcsv.net", dkim_domains=["picnic.app"]),
            ),
            ("email_domain", "picnic.app", "company"),
        ),
        # Rule 6: chats.
        (chat("bot", "Bol.com Bot"), ("chat_handle", "telegram:Bol.com Bot", "company")),
        (chat("channel", "NS Reisinfo"), ("chat_handle", "telegram:NS Reisinfo", "company")),
        (chat("private", "Anna"), ("chat_handle", "telegram:Anna", "person")),
    ],
)
def test_identify_follows_the_design_rules(
    item: Interaction, expected: tuple[str, str, str]
) -> None:
    claim = identify(item, options(ME))
    assert (claim.kind, claim.value, claim.company_kind) == expected


def test_a_sender_s_claim_is_the_same_made_again_and_huge_names_are_not_kept() -> None:
    # Claims are remembered per sender (a tenth of the writer's time); a display name of
    # megabytes (a hostile header) is made into a claim each time and never held.
    first = identify(mail(1, "Coolblue Klantenservice <klantenservice@coolblue.nl>"), options(ME))
    again = identify(mail(2, "Coolblue Klantenservice <klantenservice@coolblue.nl>"), options(ME))
    assert again == first and (first.kind, first.value, first.name) == (
        "email_domain",
        "coolblue.nl",
        "Coolblue",
    )
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for n in range(50):
            identify(mail(n, f"{'Huge' * 50_000}{n} <news{n}@shop{n}.nl>"), options(ME))
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held - before < 2**20  # 50 names of 200 KB: 10 MB had they been kept


@pytest.mark.parametrize(
    ("display", "address", "expected"),
    [
        # Brand evidence: the name agrees with the domain, whole or in part.
        ("Coolblue Klantenservice", "klantenservice@coolblue.nl", ("Coolblue", True)),
        ("Femke | Coolblue", "femke@coolblue.nl", ("Coolblue", True)),
        ("Ruben van Coolblue", "ruben@coolblue.nl", ("Coolblue", True)),
        ("KLM Customer Care", "customercare@klm.com", ("KLM", True)),
        ("Albert Heijn", "nieuwsbrief@ah.nl", ("Albert Heijn", True)),
        ("NS International", "info@nsinternational.com", ("NS", True)),
        ("Jan Jansen via LinkedIn", "messages-noreply@linkedin.com", ("LinkedIn", True)),
        ("Team Mollie", "support@mollie.com", ("Mollie", True)),
        # A personal name never names a company: the address's own person, or one shaped so.
        ("Nicoletta Bernasconi", "nicoletta.bernasconi@ibm.com", (None, False)),
        ("John Smith", "jsmith@us.ibm.com", (None, False)),
        ("Richard Earnshaw", "richard.earnshaw@arm.com", (None, False)),
        ("Emmanuele Bassi", "ebassi@gnome.org", (None, False)),
        ("Jan de Vries", "info@bakkerij.nl", (None, False)),
        ("Ivan Suse", "ivan@suse.de", (None, False)),
        # Neither brand nor person: counts only once several senders share it.
        ("ICT Servicedesk", "desk@harvard.edu", ("ICT Servicedesk", False)),
    ],
)
def test_only_brand_evidence_names_a_company(
    display: str, address: str, expected: tuple[str | None, bool]
) -> None:
    assert company_name(display, address, address.rpartition("@")[2]) == expected


@pytest.mark.parametrize(
    ("reference", "weak"),
    [
        ("XXX007", True),
        ("1234567", True),
        ("ABCDEFG", True),
        ("KDEKDEKDE", True),
        ("IO12345", True),
        ("4711", True),
        ("2KED9S", False),
        ("RXJ34P", False),
        ("90109443", False),
        ("CB-65609899", False),
    ],
)
def test_short_or_regular_references_are_weak(reference: str, weak: bool) -> None:
    assert is_weak_reference(reference) is weak


@pytest.mark.parametrize(
    ("code", "airline"),
    [("KL", "KLM Royal Dutch Airlines"), ("LH", "Lufthansa"), ("U2", "easyJet"), ("Q?", None)],
)
def test_boarding_pass_airline_codes_name_the_airline(code: str, airline: str | None) -> None:
    assert airline_name(code) == airline


@pytest.mark.parametrize(
    ("address", "role"),
    [
        ("noreply@ziggo.nl", True),
        ("klantenservice@kpnmail.nl", True),
        ("notifications-noreply@linkedin.com", True),
        ("nieuwsbrief+nl@ah.nl", True),
        ("henk.deboer@ziggo.nl", False),
        ("gerrit1957@kpnmail.nl", False),
    ],
)
def test_role_addresses_speak_for_an_organisation(address: str, role: bool) -> None:
    assert is_role_address(address) is role


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("KLM Royal Dutch Airlines", "KLM Royal Dutch Airlines"),
        ("noreply", None),
        ('"Klantenservice"', None),
        ("info@klm.com", None),
        ("  Bol.com  ", "Bol.com"),
        ("\x1b[31mEvil\x1b[0m", "Evil"),
        (None, None),
    ],
)
def test_display_names_are_cleaned_before_they_name_a_company(
    raw: str | None, clean: str | None
) -> None:
    assert clean_display_name(raw) == clean


def names(store: Store) -> dict[str, tuple[str, int]]:
    with store.read() as conn:
        return {r.name: (r.kind, r.interactions) for r in queries.list_companies(conn)}


def test_the_most_frequent_clean_display_name_names_the_company(store: Store) -> None:
    items = [
        mail(1, "noreply <noreply@klm.com>"),
        mail(2, "KLM Royal Dutch Airlines <info@klm.com>"),
        mail(3, "KLM Royal Dutch Airlines <info@klm.com>"),
        mail(4, "KLM <service@klm.com>"),
    ]
    Ingestor(store, options(ME), "test", "t").run(items)
    assert names(store) == {"KLM Royal Dutch Airlines": ("company", 4)}


def test_user_rename_survives_reimport_and_new_mail(store: Store) -> None:
    Ingestor(store, options(ME), "test", "t").run([mail(1, "KLM <a@klm.com>")])
    with store.begin() as conn:
        company_edits.rename(conn, "KLM", "My airline")
    Ingestor(store, options(ME), "test", "t").run(
        [mail(1, "KLM <a@klm.com>"), mail(2, "KLM <a@klm.com>"), mail(3, "KLM <a@klm.com>")]
    )
    assert names(store) == {"My airline": ("company", 3)}


def test_merge_sends_later_imports_to_the_merged_company_and_undo_restores(store: Store) -> None:
    Ingestor(store, options(ME), "test", "t").run(
        [mail(1, "KLM <a@klm.com>"), mail(2, "KLM Flying Blue <fb@flyingblue.com>")]
    )
    with store.begin() as conn:
        company_edits.merge(conn, "Flying Blue", "KLM")
    Ingestor(store, options(ME), "test", "t").run([mail(3, "KLM Flying Blue <x@flyingblue.com>")])
    assert names(store) == {"KLM": ("company", 3)}
    with store.begin() as conn:
        company_edits.undo_last(conn)
    assert names(store) == {"KLM": ("company", 1), "KLM Flying Blue": ("company", 2)}


def test_alias_moves_a_domain_and_its_items_to_a_company(store: Store) -> None:
    Ingestor(store, options(ME), "test", "t").run(
        [mail(1, "ING <a@ing.nl>"), mail(2, "ING Bank <b@ing.com>")]
    )
    with store.begin() as conn:
        company_edits.alias(conn, "ING Bank", "ing.nl")
    assert names(store) == {"ING Bank": ("company", 2)}
    Ingestor(store, options(ME), "test", "t").run([mail(3, "ING <c@ing.nl>")])
    assert names(store) == {"ING Bank": ("company", 3)}


def test_split_moves_one_address_out_into_its_own_company(store: Store) -> None:
    Ingestor(store, options(ME), "test", "t").run(
        [mail(1, "Amazon <a@amazon.nl>"), mail(2, "Amazon <b@amazon.nl>")]
    )
    with store.begin() as conn:
        company_edits.alias(conn, "Amazon", "b@amazon.nl")
        company_edits.split(conn, "Amazon", "b@amazon.nl", "Amazon Marketplace seller")
    Ingestor(store, options(ME), "test", "t").run([mail(3, "Amazon <b@amazon.nl>")])
    assert names(store) == {"Amazon": ("company", 1), "Amazon Marketplace seller": ("company", 2)}


def test_a_private_chat_named_like_a_known_company_joins_it(store: Store) -> None:
    Ingestor(store, options(ME), "test", "t").run([mail(1, "Coolblue <a@coolblue.nl>")])
    item = chat("private", "Coolblue")
    item.dedup_key = "chat:1"
    Ingestor(store, options(ME), "test", "t").run([item])
    assert names(store) == {"Coolblue": ("company", 2)}


def test_editing_an_unknown_company_is_a_usage_error(store: Store) -> None:
    with store.begin() as conn, pytest.raises(UsageError, match="no company matches"):
        company_edits.rename(conn, "Nonexistent", "X")
    with store.begin() as conn, pytest.raises(UsageError, match="no company edit"):
        company_edits.undo_last(conn)


def test_ambiguous_company_names_list_the_candidates(store: Store) -> None:
    Ingestor(store, options(ME), "test", "t").run(
        [
            mail(1, "KLM Cargo <a@klmcargo.com>"),
            mail(2, "KLM <a@klm.com>"),
            mail(3, "KLM Cityhopper <a@klmcityhopper.com>"),
        ]
    )
    with store.read() as conn:
        assert queries.find_company(conn, "klm")[1] == "KLM"  # an exact name wins
        with pytest.raises(UsageError, match="several companies"):
            queries.find_company(conn, "KLM C")
        ids = conn.execute(text("SELECT count(*) FROM company")).scalar()
    assert ids == 3


def test_a_persons_chat_and_mail_under_the_same_full_name_are_one_person(store: Store) -> None:
    Ingestor(store, options(ME), "test", "t").run([mail(1, "Lotte Jansen <lotte.j@gmail.com>")])
    item = chat("private", "Lotte Jansen", sender="Lotte Jansen")
    item.dedup_key = "chat:lotte"
    Ingestor(store, options(ME), "test", "t").run([item, mail(2, "Lotte <lotte@outlook.com>")])
    assert names(store) == {"Lotte Jansen": ("person", 2), "Lotte": ("person", 1)}


def test_two_domains_of_one_brand_under_the_same_name_are_one_company(store: Store) -> None:
    Ingestor(store, options(ME), "test", "t").run(
        [
            mail(1, "KLM <noreply@klm.com>"),
            mail(2, "KLM <news@mail.klm.nl>"),
            mail(3, "Transavia <news@transavia.com>"),
        ]
    )
    assert names(store) == {"KLM": ("company", 2), "Transavia": ("company", 1)}
    with store.read() as conn:
        rows = {r.name: r.domains for r in queries.list_companies(conn)}
    assert rows["KLM"] == ["klm.com", "klm.nl"]
