"""Hash bans: a block bans the image's hashes, a restore lifts them, an upload matching a
ban is blocked on arrival, new bans sweep the published images, the CSV import and export
in admin, and each worker's index of bans."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q
from django.test import Client

from articles import processing
from articles.models import Image
from articles.services import image_create
from articles.validators import validate_image_upload
from moderation import bans, hashing, selectors, services, tasks
from moderation.models import (
    ActionKind,
    BanKind,
    BanSource,
    BlockedHash,
    CaseState,
    ImageCase,
    ModerationAction,
)
from moderation.services import Decision
from moderation.services import bans as ban_services
from tests import corpus
from tests.factories import ArticleFactory, UserFactory
from tests.moderation.hashed import blocked_image, blocked_image_of, jpeg, processed_image
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

BANS = "/admin/moderation/blockedhash/"


@pytest.fixture(autouse=True)
def fresh_index():
    # Each test starts from an index built from its own database.
    bans.forget_index()
    yield
    bans.forget_index()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sweeps(monkeypatch):
    """The ban ids sent to hash_bans_sweep, instead of the broker."""
    sent = []
    monkeypatch.setattr(tasks.hash_bans_sweep, "delay", sent.append)
    return sent


def hash_blocks(image) -> list[ModerationAction]:
    return list(ModerationAction.objects.filter(image=image, action=ActionKind.HASH_BLOCK))


# --- banning and lifting ----------------------------------------------------------------


def test_a_moderators_block_bans_the_sha256_and_the_phashes_of_image_and_mirror(
    moderator, sweeps, django_capture_on_commit_callbacks
):
    # given a processed photo
    data = jpeg(corpus.photo(1))
    image = processed_image(data)

    # when a moderator confirms a report on it (which blocks it)
    services.report_create(image_id=image.pk, reporter_key="reader:a", reason="nudity")
    with django_capture_on_commit_callbacks(execute=True):
        action = services.case_decide(
            case_id=image.case.pk, decision=Decision.CONFIRM, actor=moderator
        )

    # then its sha256 and the pHashes of its picture and of its mirror are banned
    active = BlockedHash.objects.filter(source_image=image, lifted_at__isnull=True)
    assert set(active.values_list("source", flat=True)) == {BanSource.BLOCK}
    assert list(active.filter(kind=BanKind.SHA256).values_list("sha256", flat=True)) == [
        hashing.sha256_hex(data)
    ]
    phashes = set(active.filter(kind=BanKind.PHASH).values_list("phash", flat=True))
    mirror = hashing.perceptual_hash(corpus.mirrored(corpus.photo(1)))
    assert image.phash in phashes
    assert min(hashing.hamming(mirror, banned) for banned in phashes) <= hashing.MATCH_DISTANCE
    # named in the block's own action, and swept for after commit
    assert sorted(action.details["banned_hashes"]) == sorted(active.values_list("pk", flat=True))
    assert sweeps == [action.details["banned_hashes"]]


def test_processing_stores_both_hashes_and_a_block_bans_them_without_decoding(
    moderator, monkeypatch
):
    # given a processed photo: its pHash and its mirror's, stored with the renditions
    image = processed_image(jpeg(corpus.photo(3)))
    assert image.phash is not None and image.phash_mirror is not None
    assert (
        hashing.hamming(
            image.phash_mirror, hashing.perceptual_hash(corpus.mirrored(corpus.photo(3)))
        )
        <= hashing.MATCH_DISTANCE
    )

    # when it is blocked, with decoding made impossible
    def no_decoding(image):
        raise AssertionError("a processed image is not decoded again to ban it")

    monkeypatch.setattr(ban_services, "image_pixels", no_decoding)
    blocked = blocked_image_of(image, moderator)

    # then exactly the stored hashes are banned
    phashes = BlockedHash.objects.filter(source_image=blocked, kind=BanKind.PHASH)
    assert set(phashes.values_list("phash", flat=True)) == {image.phash, image.phash_mirror}


def test_an_image_processed_before_mirror_hashes_is_decoded_to_ban_its_mirror(moderator):
    # given a processed photo whose mirror hash was never stored (processed earlier)
    image = processed_image(jpeg(corpus.photo(4)))
    Image.objects.filter(pk=image.pk).update(phash_mirror=None)

    # when it is blocked
    blocked = blocked_image_of(Image.objects.get(pk=image.pk), moderator)

    # then its mirror is banned all the same, from the decoded rendition
    mirror = hashing.perceptual_hash(corpus.mirrored(corpus.photo(4)))
    phashes = BlockedHash.objects.filter(source_image=blocked, kind=BanKind.PHASH)
    assert min(hashing.hamming(mirror, b) for b in phashes.values_list("phash", flat=True)) <= (
        hashing.MATCH_DISTANCE
    )


def test_an_automatic_block_bans_the_hashes_too(settings):
    # given a processed photo, and a threshold of 2 reached
    image = processed_image(jpeg(corpus.photo(2)))
    settings.REPORT_THRESHOLD = 2
    for key in ("reader:a", "reader:b"):
        services.report_create(image_id=image.pk, reporter_key=key, reason="spam")

    # when the block is applied
    assert services.case_auto_block(image_id=image.pk)

    # then its hashes are banned, as the action says
    action = ModerationAction.objects.get(image=image, action=ActionKind.AUTO_BLOCK)
    banned = set(BlockedHash.objects.filter(source_image=image).values_list("pk", flat=True))
    assert len(banned) >= 2
    assert set(action.details["banned_hashes"]) == banned


def test_a_restore_lifts_the_bans_of_its_block_but_never_imported_ones(moderator, sweeps):
    # given a blocked image, and an imported ban of the same sha256
    data = jpeg(corpus.photo(3))
    image = blocked_image(data, moderator)
    services.bans_import(
        rows=[bans.BanRow(kind=BanKind.SHA256, value=hashing.sha256_hex(data), label="list")],
        actor=moderator,
    )

    # when a moderator restores it
    action = services.case_decide(case_id=image.case.pk, decision=Decision.RESTORE, actor=moderator)

    # then its block's bans are lifted (and named), the imported one stays in force
    block_bans = BlockedHash.objects.filter(source_image=image)
    assert block_bans.exists()
    assert not block_bans.filter(lifted_at__isnull=True).exists()
    assert sorted(action.details["lifted_bans"]) == sorted(block_bans.values_list("pk", flat=True))
    imported = BlockedHash.objects.get(source=BanSource.IMPORT)
    assert imported.lifted_at is None
    # and one action per state change: confirm, restore (and the import's own)
    assert list(
        ModerationAction.objects.filter(image=image).order_by("id").values_list("action", flat=True)
    ) == [ActionKind.CONFIRM, ActionKind.RESTORE]


# --- blocked on arrival ------------------------------------------------------------------


def assert_blocked_on_arrival(image, *, banned_image, kind):
    image.refresh_from_db()
    assert image.visibility == Image.Visibility.BLOCKED
    case = ImageCase.objects.get(image=image)
    assert (case.state, case.needs_review) == (CaseState.AUTO_BLOCKED, True)
    [action] = hash_blocks(image)
    ban = BlockedHash.objects.get(pk=action.details["ban_id"])
    assert (action.actor, ban.kind, action.details["kind"]) == (None, kind, kind)
    assert action.details["banned_image_id"] == banned_image.pk
    assert 0 <= action.details["distance"] <= hashing.MATCH_DISTANCE
    # in the moderators' queue, among the cases that await review
    queue = selectors.case_queue_filter(selectors.case_queue_list(), needs_review=True)
    assert case.pk in set(queue.values_list("pk", flat=True))
    return action


def test_a_re_upload_of_the_same_bytes_is_blocked_on_arrival(moderator, sweeps):
    # given a blocked image
    data = jpeg(corpus.photo(4))
    banned = blocked_image(data, moderator)

    # when the very same bytes are uploaded again to another article
    again = processed_image(data)

    # then it is blocked as soon as processed, by the sha256 ban
    action = assert_blocked_on_arrival(again, banned_image=banned, kind=BanKind.SHA256)
    assert action.details["distance"] == 0
    # and processing it again changes nothing: still one hash_block action
    assert processing.process_image(image_id=again.pk)
    assert len(hash_blocks(again)) == 1


@pytest.mark.parametrize(
    "variant",
    [
        lambda p: jpeg(corpus.resized(p), quality=70),
        lambda p: jpeg(corpus.recompressed(p), quality=60),
        lambda p: jpeg(corpus.mirrored(p)),
        lambda p: jpeg(corpus.brighter(p)),
    ],
    ids=["resized", "recompressed", "mirrored", "brighter"],
)
def test_a_near_duplicate_is_blocked_on_arrival_by_its_phash(moderator, sweeps, variant):
    # given a blocked photo
    picture = corpus.photo(5)
    banned = blocked_image(jpeg(picture), moderator)

    # when an edited copy of it is uploaded
    copy = processed_image(variant(picture))

    # then a pHash ban matches it within the bound
    assert_blocked_on_arrival(copy, banned_image=banned, kind=BanKind.PHASH)


def test_an_unrelated_upload_is_not_blocked(moderator, sweeps):
    # given a blocked photo
    blocked_image(jpeg(corpus.photo(6)), moderator)

    # when unrelated photos are uploaded
    others = [processed_image(jpeg(corpus.photo(seed))) for seed in corpus.UNRELATED_SEEDS[:10]]

    # then they are shown, with no case and no action
    assert {image.visibility for image in others} == {Image.Visibility.VISIBLE}
    assert not ImageCase.objects.filter(image__in=others).exists()
    assert not ModerationAction.objects.filter(image__in=others).exists()


def test_a_protected_or_restored_image_is_not_blocked_by_a_resemblance(moderator, sweeps):
    # given an image a moderator restored, then the same bytes banned by an import
    data = jpeg(corpus.photo(7))
    image = blocked_image(data, moderator)
    services.case_decide(case_id=image.case.pk, decision=Decision.RESTORE, actor=moderator)
    [ban_id] = services.bans_import(
        rows=[bans.BanRow(kind=BanKind.SHA256, value=hashing.sha256_hex(data))], actor=moderator
    )

    # when it is processed again, and the sweep runs
    processing.process_image(image_id=image.pk)
    assert services.hash_bans_sweep(ban_ids=[ban_id]) == []

    # then the moderator's decision stands
    image.refresh_from_db()
    assert image.visibility == Image.Visibility.VISIBLE
    assert not hash_blocks(image)


# --- new bans sweep the published images ---------------------------------------------


def test_an_imported_ban_sweeps_a_published_image_that_matches(
    moderator, sweeps, django_capture_on_commit_callbacks
):
    # given published images: one a recompressed copy of a photo, one unrelated
    picture = corpus.photo(8)
    copy = processed_image(jpeg(corpus.recompressed(picture), quality=70))
    other = processed_image(jpeg(corpus.photo(9)))
    assert copy.visibility == Image.Visibility.VISIBLE

    # when a moderator imports the pHash of the photo (as a hash list gives it: hex)
    value = f"{hashing.perceptual_hash(picture) & (2**64 - 1):016x}"
    rows, errors = bans.csv_parse(f"kind,value,label\nphash,{value},from a list\n")
    assert errors == []
    with django_capture_on_commit_callbacks(execute=True):
        created = services.bans_import(rows=rows, actor=moderator)

    # then one ban_import action, and the sweep is enqueued after commit with the new ban
    assert (
        ModerationAction.objects.filter(action=ActionKind.BAN_IMPORT, actor=moderator).count() == 1
    )
    assert sweeps == [created]

    # when the sweep runs (twice, as a redelivery would)
    assert tasks.hash_bans_sweep(created) == 1
    assert tasks.hash_bans_sweep(created) == 0

    # then the copy is blocked with one hash_block action naming the ban, the other is not
    copy.refresh_from_db()
    other.refresh_from_db()
    assert (copy.visibility, other.visibility) == (
        Image.Visibility.BLOCKED,
        Image.Visibility.VISIBLE,
    )
    [action] = hash_blocks(copy)
    assert (action.details["ban_id"], action.details["banned_image_id"]) == (created[0], None)


def test_a_block_sweeps_published_copies_of_the_image(moderator, sweeps):
    # given two published copies of the same bytes (uploaded before any ban)
    data = jpeg(corpus.photo(10))
    first, second = processed_image(data), processed_image(data)

    # when a moderator blocks the first
    services.report_create(image_id=first.pk, reporter_key="reader:a", reason="nudity")
    action = services.case_decide(case_id=first.case.pk, decision=Decision.CONFIRM, actor=moderator)

    # then the sweep of its bans blocks the second, and only it
    assert services.hash_bans_sweep(ban_ids=action.details["banned_hashes"]) == [second.pk]
    second.refresh_from_db()
    assert second.visibility == Image.Visibility.BLOCKED
    assert hash_blocks(second)[0].details["banned_image_id"] == first.pk


# --- the per-worker index --------------------------------------------------------------


def test_the_index_is_kept_while_the_bans_are_unchanged_and_rebuilt_when_they_change(moderator):
    # given an index built with no bans
    empty = bans.phash_index()
    assert len(empty) == 0
    assert bans.phash_index() is empty

    # when a ban is imported, the next check sees it
    [ban_id] = services.bans_import(
        rows=[bans.BanRow(kind=BanKind.PHASH, value=12345)], actor=moderator
    )
    index = bans.phash_index()
    assert index is not empty
    assert index.nearest(12345, 0) == (ban_id, 0)

    # when a block's bans are lifted by a restore, the next check drops them
    image = blocked_image(jpeg(corpus.photo(11)), moderator)
    with_block = bans.phash_index()
    assert len(with_block) >= 2
    services.case_decide(case_id=image.case.pk, decision=Decision.RESTORE, actor=moderator)
    assert len(bans.phash_index()) == 1


# --- CSV in admin ----------------------------------------------------------------------


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def csv_upload(text: str) -> dict:
    return {"file": SimpleUploadedFile("bans.csv", text.encode(), "text/csv")}


def test_csv_round_trip_export_then_import(moderator, sweeps, django_capture_on_commit_callbacks):
    # given an image blocked (three or four bans), then restored after an export
    image = blocked_image(jpeg(corpus.photo(12)), moderator)
    exported = client_for(moderator).get(f"{BANS}export/")
    assert exported.status_code == 200
    assert exported["Content-Type"].startswith("text/csv")
    text = exported.content.decode()
    lines = text.strip().splitlines()
    assert lines[0] == "kind,value,label,created_at"
    before = set(BlockedHash.objects.values_list("kind", "phash", "sha256"))
    assert len(lines) == 1 + len(before)
    services.case_decide(case_id=image.case.pk, decision=Decision.RESTORE, actor=moderator)

    # when the exported file is imported
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(moderator).post(f"{BANS}import/", csv_upload(text))

    # then the same values are banned again, as imports, with one ban_import action
    assert response.status_code == 302
    imported = BlockedHash.objects.filter(source=BanSource.IMPORT, lifted_at__isnull=True)
    assert set(imported.values_list("kind", "phash", "sha256")) == before
    assert not imported.filter(source_image__isnull=False).exists()
    action = ModerationAction.objects.get(action=ActionKind.BAN_IMPORT)
    assert (action.actor, action.details["created"]) == (moderator, len(before))
    assert sweeps == [sorted(imported.values_list("pk", flat=True))]

    # and importing it again adds nothing
    client_for(moderator).post(f"{BANS}import/", csv_upload(text))
    assert imported.count() == len(before)


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(moderator, sweeps):
    text = "\n".join(
        [
            "kind,value,label,created_at",
            "phash,00ff00ff00ff00ff,ok",
            "phash,-42,ok too",
            "phash,xyz,bad hex",
            "sha256,abc,too short",
            "md5,d41d8cd98f00b204e9800998ecf8427e,unknown kind",
            "phash,18446744073709551616,too big",
            f"sha256,{'a' * 64},ok",
        ]
    )
    response = client_for(moderator).post(f"{BANS}import/", csv_upload(text))

    assert response.status_code == 400
    errors = response.context["line_errors"]
    assert [line for line, _message in errors] == [4, 5, 6, 7]
    # (the admin speaks French to this moderator)
    assert "Ligne 5 :" in response.content.decode()
    assert not BlockedHash.objects.exists()
    assert not ModerationAction.objects.filter(action=ActionKind.BAN_IMPORT).exists()


def test_csv_parse_accepts_hex_and_signed_phashes_alike():
    value = hashing.to_signed(0xFEDCBA9876543210)
    rows, errors = bans.csv_parse(
        f"phash,FEDCBA9876543210\nphash,{value}\nphash,0xfedcba9876543210\n"
    )
    assert errors == []
    assert {row.value for row in rows} == {value}


@pytest.mark.parametrize("who", ["anonymous", "reader", "staff"])
def test_only_moderators_may_import_or_export(who, sweeps):
    user = {
        "anonymous": None,
        "reader": UserFactory(),
        "staff": UserFactory(username="staff", is_staff=True),
    }[who]
    client = client_for(user)
    for response in (
        client.get(f"{BANS}import/"),
        client.post(f"{BANS}import/", csv_upload(f"sha256,{'b' * 64}\n")),
        client.get(f"{BANS}export/"),
    ):
        if who == "staff":
            assert response.status_code == 403
        else:
            assert response.status_code == 302
            assert response["Location"].startswith("/admin/login/?next=")
    assert not BlockedHash.objects.exists()


def test_moderators_see_the_list_and_the_import_form(moderator):
    client = client_for(moderator)
    changelist = client.get(BANS)
    assert changelist.status_code == 200
    assert f'href="{BANS}import/"' in changelist.content.decode()
    assert client.get(f"{BANS}import/").status_code == 200
    # read-only rows: no add, change or delete through forms
    assert client.get(f"{BANS}add/").status_code == 403


def test_the_value_check_constraint_holds():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        BlockedHash.objects.create(kind=BanKind.PHASH, sha256="a" * 64, source=BanSource.IMPORT)
    with pytest.raises(IntegrityError), transaction.atomic():
        BlockedHash.objects.create(kind=BanKind.SHA256, sha256="XYZ", source=BanSource.IMPORT)
    assert not BlockedHash.objects.filter(Q(phash__isnull=False) | Q(sha256__isnull=False)).exists()


# --- through the real worker ------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_upload_matching_a_ban_is_blocked_on_arrival_by_the_real_worker(celery_worker):
    # given a ban on a photo's pHash, imported by a moderator
    moderator = UserFactory(username="mod-worker", is_staff=True)
    picture = corpus.photo(13)
    services.bans_import(
        rows=[bans.BanRow(kind=BanKind.PHASH, value=hashing.perceptual_hash(picture))],
        actor=moderator,
    )

    # when an editor's upload of a resized copy is stored (the worker processes it)
    image = image_create(
        article=ArticleFactory(), upload=validate_image_upload(data=jpeg(corpus.resized(picture)))
    )

    # then with no other call the worker blocks it on arrival, with one hash_block action
    wait_until(
        lambda: Image.objects.filter(pk=image.pk, visibility=Image.Visibility.BLOCKED).exists(),
        timeout=20,
    )
    image.refresh_from_db()
    assert image.status == Image.Status.READY
    [action] = hash_blocks(image)
    assert action.details["kind"] == BanKind.PHASH
    assert ImageCase.objects.get(image=image).needs_review
