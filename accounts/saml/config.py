"""The portal as a SAML 2 service provider: pysaml2's configuration, built from the
settings (SAML_*) for djangosaml2 (SAML_CONFIG_LOADER), and the identity provider's
metadata, or the federation's, read from a file or a URL, its signature checked against
SAML_IDP_METADATA_CERT, kept for an hour. Nothing is read at start-up, so a portal
without SAML sign-in never needs any of it; see docs/sign-in-saml.md.

The service provider's key is read by xmlsec1 from its file (SAML_SP_KEY_FILE): it is in
no setting's value, no database row and no log line."""

import logging
import os
import threading
import time

import requests
import saml2
from defusedxml.ElementTree import ParseError, fromstring
from django.conf import settings
from django.urls import reverse
from saml2 import md
from saml2.config import SPConfig
from saml2.sigver import SignatureError, security_context

from accounts.signin import IDENTITY_MATCHES

logger = logging.getLogger(__name__)

METADATA_MAX_AGE_SECONDS = 3600
# Seconds the portal's and the IdP's clocks may differ by.
CLOCK_LEEWAY_SECONDS = 60
METADATA_ROOTS = (md.EntitiesDescriptor.c_tag, md.EntityDescriptor.c_tag)

# The settings the configuration is made of: another value is another configuration.
CONFIGURING = (
    "SAML_IDP_METADATA_FILE",
    "SAML_IDP_METADATA_URL",
    "SAML_IDP_METADATA_CERT",
    "SAML_IDP_ENTITY_ID",
    "SAML_SP_ENTITY_ID",
    "SAML_SP_KEY_FILE",
    "SAML_SP_CERT_FILE",
    "SAML_SP_CONTACT_EMAIL",
    "SAML_PATRON_ATTRIBUTE",
    "SAML_XMLSEC_BINARY",
    "LIBRARY_NAME",
)

_configs: dict[tuple, tuple[float, SPConfig]] = {}
_configs_lock = threading.Lock()


class IdPUnavailable(Exception):
    """The IdP's metadata could not be read, or is not to be trusted."""


def sp_config(request=None) -> SPConfig:
    """The service provider's configuration for the portal at the request's address
    (djangosaml2's config loader), its IdP metadata loaded. Raises IdPUnavailable."""
    base_url = request.build_absolute_uri("/").rstrip("/") if request else ""
    key = (base_url, *(getattr(settings, name) for name in CONFIGURING))
    with _configs_lock:
        kept = _configs.get(key)
        if kept is not None and time.monotonic() - kept[0] < METADATA_MAX_AGE_SECONDS:
            return kept[1]
        try:
            conf = configured(base_url, metadata_text(signature_checker(base_url)))
        except IdPUnavailable:
            if kept is None:
                raise
            logger.warning("The IdP's metadata is kept from its last reading")
            return kept[1]
        _configs[key] = (time.monotonic(), conf)
        return conf


def forget_configuration() -> None:
    """Read the IdP's metadata again at the next sign-in."""
    with _configs_lock:
        _configs.clear()


def configured(base_url: str, metadata: str | None) -> SPConfig:
    conf = SPConfig()
    description = sp_settings(base_url)
    if metadata is not None:
        description["metadata"] = {"inline": [metadata]}
    try:
        conf.load(description)
    except Exception as error:  # pysaml2 raises what its parsers raise
        logger.warning("The IdP's metadata cannot be used: %s", error)
        raise IdPUnavailable from None
    return conf


def sp_settings(base_url: str) -> dict:
    """pysaml2's description of the portal as a service provider."""
    acs = base_url + reverse("saml2_acs")
    service = {
        "name": settings.LIBRARY_NAME,
        "endpoints": {
            "assertion_consumer_service": [(acs, saml2.BINDING_HTTP_POST)],
            "single_logout_service": [
                (base_url + reverse("saml2_ls"), saml2.BINDING_HTTP_REDIRECT),
                (base_url + reverse("saml2_ls_post"), saml2.BINDING_HTTP_POST),
            ],
        },
        # Only answers to the portal's own requests (the outstanding ones in the browser's
        # SAML session, each answered once), with signed assertions.
        "allow_unsolicited": False,
        "want_assertions_signed": True,
        "want_response_signed": False,
        "authn_requests_signed": has_key(),
        "logout_requests_signed": has_key(),
        "logout_responses_signed": has_key(),
        "required_attributes": [settings.SAML_PATRON_ATTRIBUTE],
    }
    if settings.SAML_IDP_ENTITY_ID:
        service["idp"] = [settings.SAML_IDP_ENTITY_ID]
    description = {
        "entityid": settings.SAML_SP_ENTITY_ID or base_url + reverse("saml2_metadata"),
        "xmlsec_binary": settings.SAML_XMLSEC_BINARY,
        "service": {"sp": service},
        "allow_unknown_attributes": True,
        "accepted_time_diff": CLOCK_LEEWAY_SECONDS,
        # Signatures are checked with the IdP's keys from its metadata, never with a
        # certificate the message brings along.
        "only_use_keys_in_metadata": True,
        "organization": {"name": settings.LIBRARY_NAME, "url": base_url or "/"},
    }
    if has_key():
        description["key_file"] = settings.SAML_SP_KEY_FILE
        description["cert_file"] = settings.SAML_SP_CERT_FILE
        # Shibboleth IdPs encrypt assertions to the certificate in the portal's metadata.
        description["encryption_keypairs"] = [
            {"key_file": settings.SAML_SP_KEY_FILE, "cert_file": settings.SAML_SP_CERT_FILE}
        ]
    if settings.SAML_SP_CONTACT_EMAIL:
        description["contact_person"] = [
            {
                "contact_type": "technical",
                "given_name": settings.LIBRARY_NAME,
                "email_address": [settings.SAML_SP_CONTACT_EMAIL],
            }
        ]
    return description


def has_key() -> bool:
    return bool(settings.SAML_SP_KEY_FILE and settings.SAML_SP_CERT_FILE)


def signature_checker(base_url: str):
    """A pysaml2 security context (xmlsec1) for checking the metadata's signature."""
    return security_context(configured(base_url, None))


def metadata_text(checker) -> str | None:
    """The IdP's metadata, or the federation's, its signature checked when the library
    gives the certificate it is signed with; None when the library names none."""
    if settings.SAML_IDP_METADATA_FILE:
        try:
            with open(settings.SAML_IDP_METADATA_FILE, "rb") as file:
                document = file.read()
        except OSError as error:
            logger.warning("The IdP's metadata file cannot be read: %s", error)
            raise IdPUnavailable from None
    elif settings.SAML_IDP_METADATA_URL:
        url = settings.SAML_IDP_METADATA_URL
        try:
            answer = requests.get(url, timeout=settings.SAML_TIMEOUT)
            answer.raise_for_status()
        except requests.RequestException as error:
            logger.warning("The IdP's metadata %s cannot be read: %s", url, error)
            raise IdPUnavailable from None
        document = answer.content
    else:
        return None
    if settings.SAML_IDP_METADATA_CERT:
        check_signature(document, checker)
    return document.decode("utf-8", errors="replace")


def check_signature(document: bytes, checker) -> None:
    """The metadata must be signed, as a whole, with the key of SAML_IDP_METADATA_CERT
    (pysaml2 itself would take unsigned metadata too)."""
    try:
        root = fromstring(document).tag
    except ParseError as error:
        logger.warning("The IdP's metadata is no XML: %s", error)
        raise IdPUnavailable from None
    namespace, _, name = root.lstrip("{").partition("}")
    if namespace != md.NAMESPACE or name not in METADATA_ROOTS:
        logger.warning("The IdP's metadata is no SAML metadata (%s)", root)
        raise IdPUnavailable
    try:
        verified = checker.verify_signature(
            document,
            cert_file=settings.SAML_IDP_METADATA_CERT,
            node_name=f"{namespace}:{name}",
        )
    except SignatureError as error:
        logger.warning("The IdP's metadata is not signed by SAML_IDP_METADATA_CERT: %s", error)
        raise IdPUnavailable from None
    if not verified:
        logger.warning("The IdP's metadata is not signed by SAML_IDP_METADATA_CERT")
        raise IdPUnavailable


def identity_provider(conf: SPConfig) -> str:
    """The IdP the portal signs in with: SAML_IDP_ENTITY_ID, or the only one the metadata
    names. Raises IdPUnavailable when that is not in the metadata."""
    known = set(conf.metadata.identity_providers())
    wanted = settings.SAML_IDP_ENTITY_ID
    if wanted and wanted in known:
        return wanted
    if not wanted and len(known) == 1:
        return known.pop()
    logger.warning(
        "The IdP's metadata names %d IdPs, and SAML_IDP_ENTITY_ID is %r", len(known), wanted
    )
    raise IdPUnavailable


def configuration_problems() -> list[str]:
    """What keeps the SAML sign-in from working, as far as the settings tell (the IdP's
    metadata is not read)."""
    problems = []
    file, url, cert = (
        settings.SAML_IDP_METADATA_FILE,
        settings.SAML_IDP_METADATA_URL,
        settings.SAML_IDP_METADATA_CERT,
    )
    if not (file or url):
        problems.append("Neither SAML_IDP_METADATA_FILE nor SAML_IDP_METADATA_URL is set.")
    if file and url:
        problems.append("Both SAML_IDP_METADATA_FILE and SAML_IDP_METADATA_URL are set.")
    if url and not cert and not url.startswith("https://"):
        problems.append(
            "SAML_IDP_METADATA_URL is no https:// address, and there is no "
            "SAML_IDP_METADATA_CERT to check the metadata's signature with."
        )
    for name in ("SAML_IDP_METADATA_FILE", "SAML_IDP_METADATA_CERT"):
        path = getattr(settings, name)
        if path and not os.path.isfile(path):
            problems.append(f"{name} names no file: {path}.")
    if not has_key():
        problems.append("SAML_SP_KEY_FILE and SAML_SP_CERT_FILE must both be set.")
    for name in ("SAML_SP_KEY_FILE", "SAML_SP_CERT_FILE"):
        path = getattr(settings, name)
        if path and not os.access(path, os.R_OK):
            problems.append(f"{name} names no file the portal can read: {path}.")
    if not settings.SAML_XMLSEC_BINARY or not os.access(settings.SAML_XMLSEC_BINARY, os.X_OK):
        problems.append(
            f"SAML_XMLSEC_BINARY is {settings.SAML_XMLSEC_BINARY!r}: install xmlsec1 "
            "(apt-get install xmlsec1)."
        )
    if settings.SAML_PATRON_MATCH not in IDENTITY_MATCHES:
        problems.append(
            f"SAML_PATRON_MATCH is {settings.SAML_PATRON_MATCH!r}, not one of "
            f"{', '.join(IDENTITY_MATCHES)}."
        )
    if not settings.SAML_PATRON_ATTRIBUTE:
        problems.append("SAML_PATRON_ATTRIBUTE is empty.")
    return problems
