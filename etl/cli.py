"""The ``etl`` command line. It renders results and errors; the engine below it never prints.

Text is Simplified Chinese by default and English with ``--lang en``, ``ETL_LANG=en`` or an
English locale. The language is chosen before the commands are built, so help text follows it.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import click

from etl import __version__
from etl.errors import EtlError, Problem, RuleError, UsageError
from etl.messages import detect_language, render
from etl.progress import Progress

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # the shell's status for a command stopped by Ctrl-C (128 + SIGINT)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``etl`` command; returns the exit status (0 all ok, 1 some offers failed, 2 usage or rule errors)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = detect_language(_language_option(argv))
    cli = build_cli(lang)

    try:
        status = cli.main(args=argv, prog_name="etl", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.exceptions.Abort:
        click.echo(render("cli.aborted", lang), err=True)
        return EXIT_USAGE
    except click.ClickException as error:
        _echo_click_error(error, lang)
        return EXIT_USAGE
    except RuleError as error:
        _echo_problems(error.problems, lang)
        return EXIT_USAGE
    except EtlError as error:
        click.echo(render("cli.error", lang, message=error.render(lang)), err=True)
        return EXIT_USAGE

    return status if isinstance(status, int) else EXIT_OK


def _language_option(argv: list[str]) -> str | None:
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def _text(lang: str, key: str, **params) -> str:
    return render(key, lang, **params)


def _localized(base: type, lang: str) -> type:
    """Subclass a Click command class so the help page's headings are in ``lang``."""

    class Localized(base):
        def format_usage(self, ctx, formatter) -> None:
            pieces = self.collect_usage_pieces(ctx)
            formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=_text(lang, "cli.usage_prefix"))

        def format_options(self, ctx, formatter) -> None:
            options = [param for param in self.get_params(ctx) if isinstance(param, click.Option)]
            records = [record for param in options if (record := param.get_help_record(ctx)) is not None]
            if records:
                with formatter.section(_text(lang, "cli.options_heading")):
                    formatter.write_dl(records)
            if isinstance(self, click.Group):
                self.format_commands(ctx, formatter)

        def resolve_command(self, ctx, args):
            name = args[0] if args else None
            if name and not name.startswith("-") and self.get_command(ctx, name) is None:
                from etl.expressions import suggest

                commands = self.list_commands(ctx)
                raise UsageError("cli.no_such_command", name=name, suggestion=suggest(name, commands) or "", allowed=", ".join(commands))
            return super().resolve_command(ctx, args)

        def format_commands(self, ctx, formatter) -> None:
            rows = []
            for name in self.list_commands(ctx):
                command = self.get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(limit=formatter.width - 6 - len(name))))
            if rows:
                with formatter.section(_text(lang, "cli.commands_heading")):
                    formatter.write_dl(rows)

    return Localized


def build_cli(lang: str) -> click.Group:
    """Build the command group with help text in ``lang``."""
    command_class = _localized(click.Command, lang)
    group_class = _localized(click.Group, lang)
    settings = {"help_option_names": ["-h", "--help"]}

    def common_options(function):
        function = click.option("--lang", type=click.Choice(["zh", "en"]), default=None, expose_value=False,
                                is_eager=True, help=_text(lang, "cli.option.lang"))(function)
        return click.help_option("-h", "--help", help=_text(lang, "cli.option.help"))(function)

    def network_options(function):
        options = [
            click.option("--api", metavar="NAME", help=_text(lang, "cli.option.api")),
            click.option("--credentials", metavar="FILE", help=_text(lang, "cli.option.credentials")),
            click.option("--rate", type=float, metavar="N", help=_text(lang, "cli.option.rate")),
            click.option("--retries", type=int, metavar="N", help=_text(lang, "cli.option.retries")),
            click.option("--workers", type=int, default=4, metavar="N", help=_text(lang, "cli.option.workers")),
            click.option("--verbose", "-v", is_flag=True, help=_text(lang, "cli.option.verbose")),
        ]
        for option in reversed(options):
            function = option(function)
        return function

    @click.group(cls=group_class, help=_text(lang, "cli.help.main"), context_settings=settings, add_help_option=False)
    @click.version_option(__version__, prog_name="etl", help=_text(lang, "cli.option.version"))
    @common_options
    def cli() -> None:
        pass

    @cli.command("run", cls=command_class, help=_text(lang, "cli.help.run"), add_help_option=False)
    @click.argument("rule")
    @click.option("--ids", "ids_path", metavar="FILE", help=_text(lang, "cli.option.ids"))
    @click.option("--source", "source_dir", metavar="DIR", help=_text(lang, "cli.option.source"))
    @click.option("--profile", metavar="NAME", help=_text(lang, "cli.option.profile"))
    @click.option("--out", "out_dir", default="out", metavar="DIR", help=_text(lang, "cli.option.out"))
    @click.option("--set", "overrides", multiple=True, metavar="NAME=VALUE", help=_text(lang, "cli.option.set"))
    @network_options
    @click.option("--cache", "cache_dir", metavar="DIR", help=_text(lang, "cli.option.cache"))
    @click.option("--max-age", "max_age", type=float, default=24.0, metavar="HOURS", help=_text(lang, "cli.option.max_age"))
    @click.option("--publish", is_flag=True, help=_text(lang, "cli.option.publish"))
    @click.option("--shop", metavar="NAME", help=_text(lang, "cli.option.shop"))
    @click.option("--state", "state_path", metavar="FILE", help=_text(lang, "cli.option.state"))
    @click.option("--go-live", "go_live", is_flag=True, help=_text(lang, "cli.option.go_live"))
    @click.option("--publish-rate", "publish_rate", type=float, metavar="N", help=_text(lang, "cli.option.publish_rate"))
    @common_options
    def run_command(**options) -> int:
        return _run(lang, options)

    @cli.command("fetch", cls=command_class, help=_text(lang, "cli.help.fetch"), add_help_option=False)
    @click.option("--ids", "ids_path", metavar="FILE", help=_text(lang, "cli.option.ids"))
    @click.option("--out", "out_dir", metavar="DIR", help=_text(lang, "cli.option.fetch_out"))
    @network_options
    @common_options
    def fetch_command(**options) -> int:
        return _fetch(lang, options)

    @cli.command("check", cls=command_class, help=_text(lang, "cli.help.check"), add_help_option=False)
    @click.argument("rules", nargs=-1, required=True, metavar="RULE...")
    @common_options
    def check_command(rules) -> int:
        return _check(lang, rules)

    @cli.command("init", cls=command_class, help=_text(lang, "cli.help.init"), add_help_option=False)
    @click.argument("folder", default=".", metavar="DIR")
    @common_options
    def init_command(folder) -> int:
        return _init(lang, folder)

    @cli.command("schema", cls=command_class, help=_text(lang, "cli.help.schema"), add_help_option=False)
    @common_options
    def schema_command() -> int:
        from etl.rules import rule_schema

        click.echo(json.dumps(rule_schema(), ensure_ascii=False, indent=2))
        return EXIT_OK

    @cli.command("preview", cls=command_class, help=_text(lang, "preview.help"), add_help_option=False)
    @click.argument("rule")
    @click.option("--id", "offer_text", metavar="ID", help=_text(lang, "preview.option.id"))
    @click.option("--source", "source_dir", metavar="DIR", help=_text(lang, "preview.option.source"))
    @click.option("--profile", metavar="NAME", help=_text(lang, "cli.option.profile"))
    @click.option("--set", "overrides", multiple=True, metavar="NAME=VALUE", help=_text(lang, "cli.option.set"))
    @click.option("--json", "as_json", is_flag=True, help=_text(lang, "preview.option.json"))
    @common_options
    def preview_command(**options) -> int:
        return _preview(lang, options)

    return cli


# -- commands -------------------------------------------------------------------------------


def _run(lang, options: dict) -> int:
    from etl.ids import read_ids
    from etl.platforms import DEFAULT_SHOP
    from etl.report import ReportWriter, report_header
    from etl.review import Reviewer, files_scope, publish_scope
    from etl.review_page import ReviewPageWriter
    from etl.rules import load_rule, resolve_rule_path
    from etl.runner import FileSink, run_batch
    from etl.state import StateStore, default_state_path

    if options["ids_path"] is None:
        raise UsageError("cli.missing_parameter", name="--ids")

    started = datetime.now(timezone.utc)
    rule_path = resolve_rule_path(options["rule"])
    rule = load_rule(rule_path, _parse_overrides(options["overrides"]), options["profile"])
    _echo_problems(rule.warnings, lang)

    ids = _read_ids(lang, options["ids_path"])
    source, workers, stats = _open_source(rule, Path(rule_path).parent, options)
    sink = FileSink(options["out_dir"], rule.target.name)
    if not options["publish"] and (options["go_live"] or options["shop"] or options["publish_rate"]):
        raise UsageError("cli.publish_option_alone")

    store = StateStore(options["state_path"] or default_state_path())
    if options["publish"]:
        sink, workers = _publish_sink(rule, sink, store, options), options["workers"]
        scope = publish_scope(rule.target.name, options["shop"] or DEFAULT_SHOP)
    else:
        scope = files_scope(rule.target.name, options["out_dir"])
    reviewer = Reviewer(rule.target.limits, lang, store, scope)
    click.echo(_text(lang, "cli.run_start", count=len(ids.ids), rule=rule.path, target=rule.target.label.get(lang, rule.target.name), profile=rule.profile.name), err=True)

    progress = Progress(lang, len(ids.ids), _describe_failure, retries=lambda: stats.retries if stats else 0)
    report = ReportWriter(options["out_dir"], lang)
    page = ReviewPageWriter(Path(options["out_dir"]) / "review.html", lang)
    with_warnings = 0

    def record(result) -> None:
        nonlocal with_warnings
        progress(result)
        report.add(result)
        page.add(result.entry)
        with_warnings += bool(result.entry["warnings"])

    try:
        batch = run_batch(rule, ids.ids, source, sink, on_result=record, workers=workers, keep_results=False, review=reviewer)
    except BaseException:
        report.discard()
        page.abort()
        raise
    finally:
        store.close()
    progress.finish()

    header = report_header(rule, ids, batch, started, lang)
    report_path = report.finish(header)
    page_path = page.close({**header["summary"], "warnings": with_warnings, "rule": rule.path,
                            "target": rule.target.label.get(lang, rule.target.name), "started_at": _china_time(header["started_at"]),
                            "finished_at": _china_time(header["finished_at"]), "interrupted": batch.interrupted})
    click.echo(_text(lang, "cli.review_page", path=str(page_path)), err=True)

    if batch.interrupted:
        click.echo(_text(lang, "cli.run_interrupted", done=batch.total, total=len(ids.ids), report=str(report_path)), err=True)
        return EXIT_INTERRUPTED

    click.echo(_text(lang, "cli.run_done", total=batch.total, ok=batch.ok, failed=batch.failed, out=options["out_dir"], report=str(report_path)))
    if options["publish"]:
        click.echo(_text(lang, "cli.publish_done_live" if options["go_live"] else "cli.publish_done", target=rule.target.label.get(lang, rule.target.name), created=batch.counts["created"],
                         updated=batch.counts["updated"], unchanged=batch.counts["unchanged"], failed=batch.failed))
    return EXIT_SOME_FAILED if batch.failed or ids.problems else EXIT_OK


def _china_time(iso_text: str) -> str:
    """Show a UTC ISO 8601 time as Beijing time (UTC+8), the time zone of the shops and their staff."""
    from datetime import timedelta

    moment = datetime.fromisoformat(iso_text).astimezone(timezone(timedelta(hours=8)))
    return moment.strftime("%Y-%m-%d %H:%M:%S") + " (UTC+8)"


def _publish_sink(rule, files, store, options: dict):
    """Build the load step for ``--publish``: platform client, state store, image re-hosting."""
    import os

    from etl.images import ImageFetcher, ImagePolicy
    from etl.platforms import DEFAULT_SHOP, PlatformClient, load_platform_api, load_shop_credentials
    from etl.publish import ImageRehoster, Publisher, PublishSink
    from etl.state import claim_owner

    _check_workers(options)
    api = load_platform_api(rule.target.name, rule.target.folder, rule.target.api)
    credentials = load_shop_credentials(api, options["shop"], options.get("credentials"))
    rate = options["publish_rate"]
    if rate is not None and not 0.01 <= rate < float("inf"):
        raise UsageError("cli.bad_rate", value=rate)
    if options.get("verbose"):
        _enable_logging(credentials)

    client = PlatformClient(api, credentials, rate=rate)
    shop = options["shop"] or DEFAULT_SHOP
    images = None
    if api.images is not None:
        fetcher = ImageFetcher(ImagePolicy.from_env(os.environ, api.images.max_bytes))
        images = ImageRehoster(api, client, store, shop, fetcher)

    publisher = Publisher(api, client, store, target=rule.target.name, shop=shop, live=options["go_live"], images=images,
                          owner=claim_owner())
    return PublishSink(files, publisher)


def _read_ids(lang: str, path: str):
    from etl.ids import read_ids

    ids = read_ids(path)
    for line in ids.problems:
        click.echo(_text(lang, "cli.ids_problem", message=render(line.key, lang, **line.params)), err=True)
    if not ids.ids:
        raise UsageError("cli.no_ids", path=ids.path)
    return ids


def _check_workers(options: dict) -> None:
    if not 1 <= options["workers"] <= 64:
        raise UsageError("cli.bad_workers", value=options["workers"])


def _open_source(rule, rule_folder: Path, options: dict):
    """Return (source, worker count, fetch stats or None): saved responses, or the live API with an optional cache."""
    _check_workers(options)
    from etl.fetch import CachedSource, HttpSource, find_source, load_credentials
    from etl.sources import ReplaySource

    out_dir, source_dir = options["out_dir"], options["source_dir"]
    if source_dir is not None:
        if Path(out_dir).resolve() == Path(source_dir).resolve():
            raise UsageError("cli.out_is_source", path=out_dir)
        return ReplaySource(source_dir), 1, None

    http = _http_source(rule.profile.name, rule_folder, options)
    if options.get("cache_dir"):
        if Path(out_dir).resolve() == Path(options["cache_dir"]).resolve():
            raise UsageError("cli.out_is_source", path=out_dir)
        return CachedSource(http, options["cache_dir"], options["max_age"] * 3600), options["workers"], http.stats
    return http, options["workers"], http.stats


def _http_source(profile: str, rule_folder: Path | None, options: dict):
    from etl.fetch import HttpSource, find_source, load_credentials

    definition = find_source(options.get("api"), profile, rule_folder)
    credentials = load_credentials(definition, options.get("credentials"))
    if credentials is None:
        names = definition.credentials
        raise UsageError("fetch.no_credentials", api=definition.name, key=names["key"], secret=names["secret"], token=names["token"])

    rate = options.get("rate")
    if rate is not None and not 0.01 <= rate < float("inf"):
        raise UsageError("cli.bad_rate", value=rate)
    max_age = options.get("max_age")
    if max_age is not None and not 0 <= max_age < float("inf"):
        raise UsageError("cli.bad_max_age", value=max_age)
    retries = options.get("retries")
    if retries is not None and not 0 <= retries <= 100:
        raise UsageError("cli.bad_retries", value=retries)

    if options.get("verbose"):
        _enable_logging(credentials)
    return HttpSource(definition, credentials, rate=rate, retries=retries)


def _enable_logging(credentials) -> None:
    """Log requests and retries to stderr, every line passed through the secret redactor."""
    import logging

    from etl.redact import Redactor

    handler = logging.StreamHandler()
    handler.addFilter(Redactor(credentials.secrets()).logging_filter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("etl")
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG)


def _fetch(lang, options: dict) -> int:
    from etl.fetch import find_source, save_raw

    if options["ids_path"] is None:
        raise UsageError("cli.missing_parameter", name="--ids")
    if options["out_dir"] is None:
        raise UsageError("cli.missing_parameter", name="--out")

    _check_workers(options)
    ids = _read_ids(lang, options["ids_path"])
    http = _http_source("product.get", None, options)
    folder = Path(options["out_dir"])
    folder.mkdir(parents=True, exist_ok=True)
    click.echo(_text(lang, "cli.fetch_start", count=len(ids.ids), api=http.definition.name, out=str(folder)), err=True)

    failures = []

    def fetch_one(offer_id):
        from etl.errors import OfferError
        from etl.runner import OfferResult

        try:
            save_raw(folder / f"{offer_id}.json", http.fetch_bytes(offer_id))
        except OfferError as error:
            failures.append(error)
            return OfferResult(offer_id, "failed", error=error)
        return OfferResult(offer_id, "ok", output=str(folder / f"{offer_id}.json"))

    progress = Progress(lang, len(ids.ids), _describe_failure, retries=lambda: http.stats.retries)
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=options["workers"])
    try:
        for result in pool.map(fetch_one, ids.ids):
            progress(result)
    except KeyboardInterrupt:
        http.stop()
        progress.finish()
        click.echo(_text(lang, "cli.fetch_interrupted", done=progress.done, total=len(ids.ids)), err=True)
        return EXIT_INTERRUPTED
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    progress.finish()

    click.echo(_text(lang, "cli.fetch_done", total=len(ids.ids), ok=len(ids.ids) - len(failures), failed=len(failures), out=str(folder)))
    return EXIT_SOME_FAILED if failures or ids.problems else EXIT_OK


def _init(lang: str, folder: str) -> int:
    """Copy the bundled rules, targets and samples into ``folder`` for editing; existing files are kept."""
    import shutil

    from etl.paths import data_dir

    root = Path(folder)
    created = kept = 0
    for name in ("rules", "targets", "samples"):
        source = data_dir(name)
        for path in sorted(source.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            target = root / name / path.relative_to(source)
            if target.exists():
                kept += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            created += 1

    click.echo(_text(lang, "cli.init_done", created=created, kept=kept, folder=str(root)))
    return EXIT_OK


def _check(lang, rule_texts) -> int:
    from etl.rules import load_rule, resolve_rule_path

    status = EXIT_OK
    for text in rule_texts:
        try:
            rule = load_rule(resolve_rule_path(text))
        except RuleError as error:
            _echo_problems(error.problems, lang)
            status = EXIT_USAGE
            continue

        _echo_problems(rule.warnings, lang)
        click.echo(_text(lang, "cli.check_ok", rule=rule.path, target=rule.target.name, profile=rule.profile.name, warnings=len(rule.warnings)))
    return status


def _preview(lang: str, options: dict) -> int:
    """Show one offer's record, transforms, payload and warnings; exit 1 when the offer fails."""
    from etl.preview import preview_offer, render_json, render_text
    from etl.rules import load_rule, resolve_rule_path
    from etl.runner import OfferResult

    offer_id = _offer_id_option(options["offer_text"])
    rule = load_rule(resolve_rule_path(options["rule"]), _parse_overrides(options["overrides"]), options["profile"])
    _echo_problems(rule.warnings, lang)

    preview = preview_offer(rule, offer_id, options["source_dir"], lang)
    if options["as_json"]:
        click.echo(render_json(preview))
    else:
        if preview.failed:
            click.echo(_describe_failure(OfferResult(offer_id, "failed", error=preview.trace.error), lang), err=True)
        click.echo(render_text(preview, lang))
    return EXIT_SOME_FAILED if preview.failed else EXIT_OK


def _offer_id_option(text: str | None) -> str:
    """Read ``--id`` like one line of an ids file: an offer id or a 1688 offer URL."""
    from etl.ids import parse_ids
    from etl.messages import LANGUAGES

    parsed = parse_ids([text or ""], path="--id")
    if parsed.problems:
        problem = parsed.problems[0]
        raise UsageError("preview.bad_id", reason={language: render(problem.key, language, **problem.params) for language in LANGUAGES})
    if not parsed.ids:
        raise UsageError("cli.missing_parameter", name="--id")
    return parsed.ids[0]


def _parse_overrides(overrides) -> dict[str, str]:
    parsed = {}
    for item in overrides:
        name, separator, value = item.partition("=")
        if not separator or not name.strip():
            raise UsageError("cli.bad_set", item=item)
        parsed[name.strip()] = value
    return parsed


# -- rendering ------------------------------------------------------------------------------


def _describe_failure(result, lang: str) -> str:
    error = result.error
    where = error.step + (f" / {error.field}" if error.field else "")
    if error.sku_index is not None:
        where += f" / SKU #{error.sku_index}"
    return _text(lang, "cli.offer_failed", offer_id=result.offer_id, where=where, reason=error.render(lang))


def format_problem(problem: Problem, lang: str) -> str:
    """Render a rule problem as ``file:line:column: severity [field] message`` with the source line and a caret."""
    position = problem.position
    place = position.path
    if position.line:
        place += f":{position.line}"
        if position.column:
            place += f":{position.column}"

    severity = _text(lang, f"cli.severity.{problem.severity}")
    field = f" [{problem.field}]" if problem.field else ""
    lines = [f"{place}: {severity}{field} {problem.render(lang)}"]

    if position.source_line is not None:
        lines.append("    " + position.source_line)
        if position.column:
            lines.append("    " + _caret_padding(position.source_line, position.column - 1) + "^")
    return "\n".join(lines)


def _caret_padding(line: str, column: int) -> str:
    """Spaces up to ``column``, two per wide character, so the caret lines up under CJK text."""
    from etl.filters.text import display_width

    return " " * display_width(line[:column].replace("\t", " "))


def _echo_problems(problems, lang: str) -> None:
    ordered = sorted(problems, key=lambda item: (item.position.path, item.position.line or 0, item.position.column or 0))
    for problem in ordered:
        click.echo(format_problem(problem, lang), err=True)

    errors = sum(1 for problem in problems if problem.severity == "error")
    if errors:
        click.echo(_text(lang, "cli.rule_errors", count=errors), err=True)


def _echo_click_error(error: click.ClickException, lang: str) -> None:
    if isinstance(error, click.exceptions.NoArgsIsHelpError):
        click.echo(error.ctx.get_help(), err=True)
        return

    if isinstance(error, click.exceptions.MissingParameter) and error.param is not None:
        names = error.param.metavar or "/".join(error.param.opts) or error.param.name
        message = _text(lang, "cli.missing_parameter", name=names)
    elif isinstance(error, click.exceptions.NoSuchOption):
        hint = error.possibilities[0] if error.possibilities else ""
        message = _text(lang, "cli.no_such_option", name=error.option_name, suggestion=hint)
    else:
        message = _text(lang, "cli.usage_detail", detail=error.format_message())

    context = getattr(error, "ctx", None)
    if context is not None:
        click.echo(context.get_usage(), err=True)
    click.echo(_text(lang, "cli.error", message=message), err=True)
    click.echo(_text(lang, "cli.see_help", command=context.command_path if context is not None else "etl"), err=True)


if __name__ == "__main__":
    sys.exit(main())
