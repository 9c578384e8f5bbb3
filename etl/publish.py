"""Load step with ``--publish``: create or update one draft per offer, idempotently, with re-hosted images.

For each mapped payload :class:`Publisher` decides, in this order:

1. **unchanged**: the state store has a product id and the same payload hash → no platform call;
2. claim the offer in the state store, so a second run on the same state leaves it alone;
3. re-host images: every image field is rewritten to the platform's own host (uploads cached by
   source URL in the state store, so a re-run uploads nothing twice);
4. **updated**: a product id is known (from the store, or found on the platform by outer id) →
   update that product;
5. **created**: nothing found → record the intent, create the draft, record the product id.

The platform is the source of truth: before any create the offer is looked up by its outer id,
and a create whose response was lost (timeout, dropped connection, crash) is never re-sent blindly;
the next attempt looks the product up first. So neither a crash, a retry, a lost state file nor
a second machine makes a duplicate.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from etl import jsonio
from etl.errors import DataError, OfferError
from etl.images import html_image_urls, original_url, redact_url, rewrite_html_images
from etl.platforms import PlatformApi, PlatformClient, PlatformError
from etl.state import StateStore

log = logging.getLogger("etl.publish")

CREATE_ATTEMPTS = 3  # creates sent for one offer when the platform refused them before acting (rate limit, 429)
UNANSWERED_WAIT = 2.0  # seconds to wait before looking up a product whose create went unanswered
# NOTE: an estimate, because no platform documents how long a create may take to show in a
# look-up. An unconfirmed create younger than this is not repeated, so a slow platform can finish it.
SETTLE_SECONDS = 120.0


@dataclass(frozen=True)
class Found:
    """A product found on the platform by outer id, and whether it is live (on sale or submitted)."""

    product_id: str
    live: bool


@dataclass(frozen=True)
class Published:
    """The load step's outcome for one offer: ``created``, ``updated`` or ``unchanged``, and the platform product id."""

    status: str
    product_id: str
    dropped_images: tuple[tuple[str, str], ...] = ()  # (field, source URL) of detail images the source no longer serves


def payload_hash(payload: Mapping[str, Any]) -> str:
    """Hash a payload as mapped (before image re-hosting), so an unchanged offer is recognised without any upload."""
    return hashlib.sha256(jsonio.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


class Publisher:
    """Publish payloads of one target to one shop; thread-safe, one instance per run."""

    def __init__(self, api: PlatformApi, client: PlatformClient, store: StateStore, *, target: str, shop: str, live: bool,
                 images: "ImageRehoster | None", owner: str) -> None:
        self.api, self.client, self.store = api, client, store
        self.target, self.shop, self.live = target, shop, live
        self.images = images
        self.owner = owner
        self.settle_seconds = SETTLE_SECONDS

    def publish(self, offer_id: str, payload: Mapping[str, Any]) -> Published:
        """Bring the platform's draft for ``offer_id`` in line with ``payload``; raise :class:`OfferError`.

        A product once published live (``--go-live``) stays live: later runs without the flag
        send the live values too, so an update never takes an item off sale or out of audit.
        """
        known = self.store.product(self.target, self.shop, offer_id)
        live = self.live or (known is not None and known.status == "live")
        payload = {**payload, **(self.api.live if live else self.api.draft)}
        digest = payload_hash(payload)
        status = "live" if live else "draft"

        if _unchanged(known, digest):
            return Published("unchanged", known.product_id)

        if not self.store.claim(self.target, self.shop, offer_id, self.owner):
            raise OfferError("publish.busy", step="publish", offer_id=offer_id, state=str(self.store.path))

        try:
            # Another run may have finished this offer while we waited for the claim.
            known = self.store.product(self.target, self.shop, offer_id)
            if _unchanged(known, digest):
                return Published("unchanged", known.product_id)

            rehosted, dropped = self.images.rehost(offer_id, payload) if self.images is not None else (payload, ())
            stored = known.product_id if known else None
            if stored is not None and self.update(offer_id, stored, rehosted):
                return self._recorded("updated", offer_id, stored, digest, status, dropped)

            # Unknown here, or deleted in the shop since: the platform may still have a product with this outer id.
            found = self.lookup(offer_id, payload)
            if found is not None and found.live and not live:
                # Published live by an earlier run whose state is gone: keep it live.
                rehosted, status = {**rehosted, **self.api.live}, "live"
                digest = payload_hash({**payload, **self.api.live})
            if found is not None and found.product_id != stored and self.update(offer_id, found.product_id, rehosted):
                return self._recorded("updated", offer_id, found.product_id, digest, status, dropped)

            self._check_settled(offer_id, known)

            return self._recorded("created", offer_id, self.create(offer_id, rehosted), digest, status, dropped)
        except OfferError as error:
            self.store.record_error(self.target, self.shop, offer_id, f"{error.key}: {error}")
            raise
        finally:
            self.store.release(self.target, self.shop, offer_id, self.owner)

    def _recorded(self, outcome: str, offer_id: str, product_id: str, digest: str, status: str, dropped: tuple) -> Published:
        """Store that the platform now has this payload under ``product_id``, and return the outcome."""
        self.store.record_product(self.target, self.shop, offer_id, product_id, digest, status)
        return Published(outcome, product_id, dropped)

    def lookup(self, offer_id: str, payload: Mapping[str, Any]) -> Found | None:
        """Find the platform product whose outer id is this offer's; ``None`` when the platform has none."""
        outer_id = str(payload.get(self.api.outer_id_field) or offer_id)
        params = {name: value.replace("{outer_id}", outer_id) for name, value in self.api.lookup_params.items()}
        try:
            response = self.client.call(self.api.lookup_method, params, offer_id=offer_id)
        except PlatformError as error:
            if error.codes and self.api.is_not_found(error.codes):
                return None
            raise

        found = self.api.lookup_product_id.search(response)
        if found in (None, "", 0):
            return None
        live = bool(self.api.lookup_live.search(response)) if self.api.lookup_live is not None else False
        return Found(str(found), live)

    def _check_settled(self, offer_id: str, known) -> None:
        """Refuse to create while an earlier unconfirmed create is recent: a slow platform may still be making it."""
        if known is None or known.status != "creating" or not known.intent_at:
            return
        age = (datetime.now(timezone.utc) - datetime.fromisoformat(known.intent_at)).total_seconds()
        if 0 <= age < self.settle_seconds:
            raise OfferError("publish.unconfirmed_recent", step="publish", offer_id=offer_id, seconds=int(self.settle_seconds - age) + 1)

    def create(self, offer_id: str, payload: Mapping[str, Any]) -> str:
        """Create the draft; the intent is on disk first, and a create is never sent twice blindly.

        A failure the platform cannot have acted on (a rate limit, HTTP 429, no connection) is
        retried after a pause and a look-up. After a failure it may have acted on (a timeout, a
        dropped connection, a server error), the product is looked up once more after a pause.
        When it is still not there, the offer fails and the next run looks it up again before
        creating, because a slow platform may still be creating it.
        """
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            self.store.record_intent(self.target, self.shop, offer_id)
            try:
                response = self.client.call(self.api.create_method, payload, offer_id=offer_id, retry_sent=False)
            except PlatformError as error:
                if not error.transient:
                    # The platform refused it outright (a parameter or business error): nothing was created.
                    self.store.clear_intent(self.target, self.shop, offer_id)
                    raise
                if attempt == CREATE_ATTEMPTS and not error.ambiguous:
                    raise
                if error.ambiguous:
                    return self._found_after_unanswered_create(offer_id, payload, error)
                self.client.pause(self.client.backoff * 2 ** attempt)
                # Cheap insurance against a platform that refused only after acting.
                found = self.lookup(offer_id, payload)
                if found is not None:
                    return found.product_id
                continue

            product_id = self.api.create_product_id.search(response)
            if product_id in (None, "", 0):
                raise OfferError("publish.no_product_id", step="publish", offer_id=offer_id, method=self.api.create_method)
            return str(product_id)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _found_after_unanswered_create(self, offer_id: str, payload: Mapping[str, Any], error: PlatformError) -> str:
        self.client.pause(UNANSWERED_WAIT)
        found = self.lookup(offer_id, payload)
        if found is not None:
            log.info("offer %s: the unanswered create made product %s", offer_id, found.product_id)
            return found.product_id
        raise PlatformError("publish.unanswered", step="publish", offer_id=offer_id, method=self.api.create_method,
                            reason=error.params.get("reason", {"zh": error.render("zh"), "en": error.render("en")}), ambiguous=True)

    def update(self, offer_id: str, product_id: str, payload: Mapping[str, Any]) -> bool:
        """Update the product; return False when the platform reports it deleted, so the caller creates it again."""
        try:
            self.client.call(self.api.update_method, {**payload, self.api.update_id_param: product_id}, offer_id=offer_id)
        except PlatformError as error:
            if error.codes and self.api.is_deleted(error.codes):
                log.warning("offer %s: product %s was deleted on the platform; creating it again", offer_id, product_id)
                return False
            raise
        return True


def _unchanged(known, digest: str) -> bool:
    return known is not None and known.product_id is not None and known.payload_hash == digest and known.status in ("draft", "live")


# -- images -----------------------------------------------------------------------------------


# Errors that mean the source no longer serves an image, as opposed to a policy or platform refusal.
MISSING_IMAGE_KEYS = ("image.not_found", "image.http_error")


class ImageRehoster:
    """Replace every source image address in a payload with the platform's copy, uploading each image once per shop."""

    def __init__(self, api: PlatformApi, client: PlatformClient, store: StateStore, shop: str, fetcher) -> None:
        if api.images is None:
            raise ValueError(f"target {api.name} declares no image API")
        self.api, self.images, self.client, self.store, self.shop = api, api.images, client, store, shop
        self.fetcher = fetcher
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def rehost(self, offer_id: str, payload: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
        """Return a copy of ``payload`` whose image fields point only at the platform's host, and the (field, URL) of dropped images."""
        rewritten = dict(payload)
        dropped: list[tuple[str, str]] = []
        for name, separator in self.images.list_fields:
            value = rewritten.get(name)
            if isinstance(value, str) and value:
                urls = [url.strip() for url in value.split(separator) if url.strip()]
                optional = name in self.images.optional_fields
                hosted = [self._hosted(offer_id, name, url, optional, dropped) for url in urls]
                rewritten[name] = separator.join(url for url in hosted if url is not None)

        for name in self.images.html_fields:
            html = rewritten.get(name)
            if isinstance(html, str) and html:
                hosted = {url: self._hosted(offer_id, name, url, True, dropped) for url in html_image_urls(html)}
                # An image left out of the mapping is removed from the HTML; its surrounding text stays.
                rewritten[name] = rewrite_html_images(html, {url: new for url, new in hosted.items() if new is not None})
        return rewritten, tuple(dropped)

    def _hosted(self, offer_id: str, field: str, url: str, optional: bool, dropped: list) -> str | None:
        """Return the platform address, or ``None`` for a detail image the source no longer serves (it is dropped)."""
        try:
            return self.platform_url(offer_id, field, url)
        except OfferError as error:
            if optional and error.key in MISSING_IMAGE_KEYS:
                log.warning("offer %s: dropped detail image %s from %s: %s", offer_id, redact_url(url), field, error.key)
                dropped.append((field, redact_url(url)))
                return None
            raise

    def platform_url(self, offer_id: str, field: str, url: str) -> str:
        """Return the platform address for one source image, uploading it unless this shop has it already."""
        if self.images.is_own(url):
            return url

        source = original_url(url)
        with self._lock_for(source):
            cached = self.store.image(self.api.name, self.shop, source)
            if cached is not None:
                return cached

            try:
                image = self.fetcher.fetch(source)
            except DataError as error:
                raise OfferError(error.key, step="images", offer_id=offer_id, field=field, params=error.params) from None

            platform_url = self._upload(offer_id, field, source, image)
            self.store.record_image(self.api.name, self.shop, source, platform_url, image.sha256)
            return platform_url

    def _upload(self, offer_id: str, field: str, source: str, image) -> str:
        params = dict(self.images.params)
        name = _image_name(source, self.images.name_max)
        if self.images.name_param:
            params[self.images.name_param] = name

        files = None
        if self.images.send == "url":
            params[self.images.url_param] = source
        else:
            files = {self.images.file_param: (name, image.content, image.content_type)}

        try:
            response = self.client.call(self.images.method, params, offer_id=offer_id, step="images", files=files)
        except PlatformError as error:
            error.field = error.field or field
            raise

        platform_url = self.images.platform_url.search(response)
        if not platform_url and self.images.audit is not None:
            platform_url = self._await_audit(offer_id, field, response)
        if not platform_url:
            raise OfferError("images.no_platform_url", step="images", offer_id=offer_id, field=field, url=redact_url(source),
                             method=self.images.method)
        return str(platform_url)

    def _await_audit(self, offer_id: str, field: str, response: Any) -> str | None:
        """Query an image still under audit a few times; return its address once it has passed, else ``None``."""
        audit = self.images.audit
        image_id = audit.image_id.search(response)
        if not image_id:
            return None

        for attempt in range(audit.attempts):
            if attempt:
                self.client.pause(audit.interval, step="images")
            detail = self.client.call(audit.method, {audit.id_param: str(image_id)}, offer_id=offer_id, step="images")
            platform_url = audit.platform_url.search(detail)
            if platform_url:
                return str(platform_url)
        return None

    def _lock_for(self, url: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(url, threading.Lock())


def _image_name(url: str, limit: int) -> str:
    """Name an upload after the source file, at most ``limit`` characters, keeping the extension (TOP wants it)."""
    name = url.rsplit("/", 1)[-1].split("?", 1)[0] or "image.jpg"
    if len(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) > 5:
        return name[:limit]
    return stem[: limit - len(extension) - 1] + "." + extension


# -- the sink the runner uses -----------------------------------------------------------------


class PublishSink:
    """Write each payload file as without ``--publish``, then publish it; the runner's load step."""

    def __init__(self, files, publisher: Publisher) -> None:
        self.files = files
        self.publisher = publisher
        self.redactor = publisher.client.redactor

    def write(self, offer_id: str, payload: Any) -> str:
        return self.files.write(offer_id, payload)

    def publish(self, offer_id: str, payload: Any) -> Published:
        return self.publisher.publish(offer_id, payload)

    def discard(self, offer_id: str) -> bool:
        return self.files.discard(offer_id)

    def stop(self) -> None:
        self.publisher.client.stop()
