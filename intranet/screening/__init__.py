"""Screening of forbidden categories (issue 23): the term list, screening
free text on save, flags and their review (seed 004 収集禁止事項;
個人情報保護法2条3項 要配慮個人情報). See docs/security.md."""
from pyramid.exceptions import ConfigurationError


def includeme(config):
    from .matcher import TermFileError, load

    # Parsed once at start-up: a malformed list stops the application with
    # the file and line at fault.
    path = config.registry.app_settings.screening_terms_file
    try:
        config.registry.screening_terms = load(path)
    except TermFileError as exc:
        raise ConfigurationError(f"intranet.screening.terms_file: {exc}") from exc
    config.scan(".views")
