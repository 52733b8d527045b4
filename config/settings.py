"""One settings module for every environment, driven by environment variables.

See `.env.example` for every variable and its default. The defaults give a local
development run on SQLite; production sets DEBUG=off, SECRET_KEY, ALLOWED_HOSTS
and DATABASE_URL (PostgreSQL).
"""

import os
import shutil
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Without DEBUG a real key is required: a missing one stops the start-up.
SECRET_KEY = env.str("SECRET_KEY", default="insecure-local-key" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "djangosaml2",
    "accounts",
    "fees",
    "payments",
    "staffdesk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The SAML sign-in's own session (djangosaml2): its cookie is SameSite=None, so that the
    # IdP's cross-site POST to the ACS brings it along; the portal's stays Lax.
    "djangosaml2.middleware.SamlSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "payments.api.ApiRequestLogMiddleware",
    "payments.api.errors.MethodNotAllowedMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.library",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# SQLite is the embedded default for a local run; PostgreSQL is the production
# database. Money writes lock rows with SELECT ... FOR UPDATE; SQLite ignores
# that, so it starts every transaction IMMEDIATE (one writer at a time) and
# waits for the lock instead of failing with "database is locked".
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 30, "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # A file, not Django's shared in-memory database, so that tests with real
    # threads get SQLite's normal file locking; one per test run.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}
# PostgreSQL plans a statement the connection has run five times once, not on every run:
# the account page's statements take longer to plan than to execute. Needs connections
# kept open (CONN_MAX_AGE); off behind a pooler in transaction mode.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": 5}
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # Login throttling, kept in the database so every web process sees the same count.
    "axes.backends.AxesStandaloneBackend",
    "payments.library_systems.signin.LibraryCardBackend",
    "payments.oidc_signin.PatronOIDCBackend",
    "payments.saml_signin.PatronSAMLBackend",
    "accounts.backends.CardNumberBackend",
    "accounts.backends.UsernameBackend",
]
# How patrons sign in (accounts.signin): "library_card" (card and PIN checked by the
# library system), "saml", "oidc" (single sign-on), "password" (a password of the
# portal's). Staff always use theirs.
SIGN_IN_METHODS = env.list("SIGN_IN_METHODS", default=["password"])
# The library's own words for each method on the login page, per language.
SIGN_IN_LABELS = {
    f"{method}.{language}": env.str(f"SIGN_IN_{method.upper()}_LABEL_{language.upper()}", "")
    for method in ("library_card", "saml", "oidc", "password")
    for language in ("en", "de")
}
# Single sign-on through an OpenID Connect provider ("oidc" in SIGN_IN_METHODS;
# docs/sign-in-oidc.md): mozilla-django-oidc's settings. The endpoints left empty are read
# from the provider's discovery document at the first sign-in.
OIDC_DISCOVERY_URL = env.str("OIDC_DISCOVERY_URL", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="")
OIDC_OP_END_SESSION_ENDPOINT = env.str("OIDC_OP_END_SESSION_ENDPOINT", default="")
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid")
# The claim that names the patron, and what it is matched with: external_id (the patron's
# id in the library system), card_number or user_number.
OIDC_PATRON_CLAIM = env.str("OIDC_PATRON_CLAIM", default="sub")
OIDC_PATRON_MATCH = env.str("OIDC_PATRON_MATCH", default="external_id")
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT_SECONDS", default=10)
# ID tokens signed with the provider's keys (its JWKS), state, nonce and PKCE checked.
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
# Patrons come from the library system (payments.oidc_signin), never from the provider.
OIDC_CREATE_USER = False
# The patron's ID token is kept for the provider's logout (id_token_hint).
OIDC_STORE_ID_TOKEN = True
OIDC_AUTHENTICATE_CLASS = "accounts.oidc_views.AuthenticateView"
OIDC_CALLBACK_CLASS = "accounts.oidc_views.CallbackView"
OIDC_OP_LOGOUT_URL_METHOD = "accounts.oidc.logout_url"
# Single sign-on through a SAML 2 identity provider ("saml" in SIGN_IN_METHODS;
# docs/sign-in-saml.md), with djangosaml2. The IdP's metadata, or its federation's (then
# SAML_IDP_ENTITY_ID picks the IdP), from a file or a URL; its signature is checked with
# SAML_IDP_METADATA_CERT when given (a federation's always should be).
SAML_IDP_METADATA_FILE = env.str("SAML_IDP_METADATA_FILE", default="")
SAML_IDP_METADATA_URL = env.str("SAML_IDP_METADATA_URL", default="")
SAML_IDP_METADATA_CERT = env.str("SAML_IDP_METADATA_CERT", default="")
SAML_IDP_ENTITY_ID = env.str("SAML_IDP_ENTITY_ID", default="")
# The portal's entity id (default: its metadata's address, https://<portal>/saml2/metadata/)
# and its key pair, as files: the key is never in a setting, the database or a log.
SAML_SP_ENTITY_ID = env.str("SAML_SP_ENTITY_ID", default="")
SAML_SP_KEY_FILE = env.str("SAML_SP_KEY_FILE", default="")
SAML_SP_CERT_FILE = env.str("SAML_SP_CERT_FILE", default="")
SAML_SP_CONTACT_EMAIL = env.str("SAML_SP_CONTACT_EMAIL", default="")
# The attribute that names the patron (its OID or URI, or its friendly name), and what it
# is matched with: external_id, card_number or user_number. Default: eduPersonPrincipalName.
SAML_PATRON_ATTRIBUTE = env.str("SAML_PATRON_ATTRIBUTE", default="urn:oid:1.3.6.1.4.1.5923.1.1.1.6")
SAML_PATRON_MATCH = env.str("SAML_PATRON_MATCH", default="external_id")
SAML_TIMEOUT = env.float("SAML_TIMEOUT_SECONDS", default=10)
SAML_XMLSEC_BINARY = env.str("SAML_XMLSEC_BINARY", default=shutil.which("xmlsec1") or "")
# djangosaml2's settings: the configuration built from the above (accounts.saml.config);
# patrons come from the library system (payments.saml_signin), never from the assertion.
SAML_CONFIG_LOADER = "accounts.saml.config.sp_config"
SAML_CREATE_UNKNOWN_USER = False
SAML_ATTRIBUTE_MAPPING = {}
SAML_DEFAULT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
SAML_SESSION_COOKIE_NAME = "saml_session"
SAML_SESSION_COOKIE_SAMESITE = "None"
# The portal's session has ended before the IdP's logout answers: its answer only leads
# back to the login page.
SAML_IGNORE_LOGOUT_ERRORS = True
# The portal sets no Content-Security-Policy of its own for djangosaml2 to extend.
SAML_CSP_HANDLER = ""
# A verified assertion is no password guess: not counted, nor locked out, by django-axes.
AXES_WHITELIST_CALLABLE = "accounts.saml.views.is_saml_sign_in"
# Password-reset e-mails asked for per card number or e-mail and hour (four times as many
# per address).
PASSWORD_RESET_PER_HOUR = env.int("PASSWORD_RESET_PER_HOUR", default=3)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=3 * 24 * 3600)
# Who a single sign-on or a hand-off names: read from the library system, created here at
# the first sign-in (accounts.signin.identity_patron).
SIGN_IN_PATRON_LOOKUP = "payments.services.patron_link.patron_of_identity"
# The payment providers by name, which an owner's providers are checked against.
PAYMENT_PROVIDER_REGISTRY = "payments.providers.PROVIDERS"
# The catalogue's "Pay fees" link (accounts.handoff): an HMAC-signed link (HANDOFF_SECRET)
# and/or Primo VE's signed JWT (HANDOFF_JWKS_URL, the institution's key set).
HANDOFF_SECRET = env.str("HANDOFF_SECRET", default="")
HANDOFF_JWKS_URL = env.str("HANDOFF_JWKS_URL", default="")
HANDOFF_JWT_PATRON_CLAIM = env.str("HANDOFF_JWT_PATRON_CLAIM", default="user")
HANDOFF_JWT_ISSUER = env.str("HANDOFF_JWT_ISSUER", default="")
# A key id the cached key set lacks fetches the set again, at most this often.
HANDOFF_JWKS_COOLDOWN_SECONDS = env.float("HANDOFF_JWKS_COOLDOWN_SECONDS", default=30)
# What the link's patron id is: the library system's id, the card number or the user number.
HANDOFF_PATRON_MATCH = env.str("HANDOFF_PATRON_MATCH", default="external_id")
# How long a link may live, and the clock difference allowed with the catalogue's server.
HANDOFF_MAX_AGE_SECONDS = env.int("HANDOFF_MAX_AGE_SECONDS", default=300)
HANDOFF_LEEWAY_SECONDS = env.int("HANDOFF_LEEWAY_SECONDS", default=30)
# The hosts a hand-off's way back to the catalogue may lead to.
HANDOFF_RETURN_HOSTS = env.list("HANDOFF_RETURN_HOSTS", default=[])
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_COOLOFF_HOURS", default=0.25)
# Per card number and address: a stranger cannot lock a patron out from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Counted by the card number as the login looks it up: other spacing or case is no new guess.
AXES_USERNAME_CALLABLE = "accounts.cards.axes_username"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_IPWARE_PROXY_COUNT = env.int("PROXY_COUNT", default=0)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ---------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English dates as in Europe (23/11/2026 17:10), not Django's US default.
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Berlin")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (production) ----------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 2)

# Sessions are rows in the database, so every web process on every machine sees the
# same ones. A shared cache in front of them (cached_db over Redis) was measured and
# gained nothing here: a session is one primary-key read, as cheap as the cache's.

# --- E-mail -------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="library@localhost")
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))

# --- Logging ------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django's own default gives "django" a console handler too, and its records also reach
    # the root's: each line would print twice. The root alone prints them.
    # pysaml2's schema library tells of every schema it loads, at its import too.
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "xmlschema": {"level": "WARNING"},
    },
}

# --- The library --------------------------------------------------------------------
LIBRARY_NAME = env.str("LIBRARY_NAME", default="City Library")
LIBRARY_LOGO_URL = env.str("LIBRARY_LOGO_URL", default="")
# ISO 4217 code; every journal entry is in this currency.
LIBRARY_CURRENCY = env.str("LIBRARY_CURRENCY", default="EUR")
# Patrons handled per transaction by the daily settlement.
SETTLEMENT_BATCH_PATRONS = env.int("SETTLEMENT_BATCH_PATRONS", default=2000)

# --- Payments -------------------------------------------------------------------------
# Limits of one online payment, in cents of LIBRARY_CURRENCY; 0 means no limit.
ONLINE_MINIMUM_CENTS = env.int("ONLINE_MINIMUM_CENTS", default=0)
ONLINE_MAXIMUM_CENTS = env.int("ONLINE_MAXIMUM_CENTS", default=0)
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Only for tests and stripe-mock: where the Stripe API is reached.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20)
# PayPal Checkout: the REST app's client id and secret, and the id of its webhook (what
# PayPal signs each delivery for). sandbox or live, matching PAYMENT_MODE.
PAYPAL_CLIENT_ID = env.str("PAYPAL_CLIENT_ID", default="")
PAYPAL_CLIENT_SECRET = env.str("PAYPAL_CLIENT_SECRET", default="")
PAYPAL_WEBHOOK_ID = env.str("PAYPAL_WEBHOOK_ID", default="")
PAYPAL_ENVIRONMENT = env.str("PAYPAL_ENVIRONMENT", default="sandbox")
# Only for tests: where the PayPal API is reached, and further origins (scheme://host:port)
# whose webhook certificates are trusted besides PayPal's own API hosts.
PAYPAL_API_BASE = env.str("PAYPAL_API_BASE", default="")
PAYPAL_CERT_ORIGINS = env.list("PAYPAL_CERT_ORIGINS", default=[])
PAYPAL_TIMEOUT_SECONDS = env.float("PAYPAL_TIMEOUT_SECONDS", default=20)
# Stripe when keys are configured; otherwise the simulated provider (test mode only).
PAYMENT_PROVIDER = env.str(
    "PAYMENT_PROVIDER", default="stripe" if STRIPE_SECRET_KEY else "simulated"
)
PAYMENT_MODE = env.str("PAYMENT_MODE", default="test")
# A checkout not finished within this time expires at the provider (Stripe's minimum is 30).
CHECKOUT_EXPIRY_MINUTES = env.int("CHECKOUT_EXPIRY_MINUTES", default=30)
# `reconcile` asks the provider about orders still open after this many minutes.
RECONCILE_AFTER_MINUTES = env.int("RECONCILE_AFTER_MINUTES", default=15)
# Staff may "complete and book" an order without a Paid message after this many days.
COMPLETE_AFTER_DAYS = env.int("COMPLETE_AFTER_DAYS", default=9)
# API calls each client may make per minute.
API_REQUESTS_PER_MINUTE = env.int("API_REQUESTS_PER_MINUTE", default=600)
# Webhook signatures older (or further in the future) than this are refused.
WEBHOOK_TOLERANCE_SECONDS = env.int("WEBHOOK_TOLERANCE_SECONDS", default=300)

# --- The library system: where payments are delivered -----------------------------------
# Empty: deliveries are recorded and shown at the desk, nothing is sent. Otherwise one of
# webhook, koha, folio, alma, aleph (see the README's section on the library system).
LIBRARY_SYSTEM_TARGET = env.str("LIBRARY_SYSTEM_TARGET", default="")
LIBRARY_SYSTEM_URL = env.str("LIBRARY_SYSTEM_URL", default="")
LIBRARY_SYSTEM_USER = env.str("LIBRARY_SYSTEM_USER", default="")
LIBRARY_SYSTEM_PASSWORD = env.str("LIBRARY_SYSTEM_PASSWORD", default="")
LIBRARY_SYSTEM_API_KEY = env.str("LIBRARY_SYSTEM_API_KEY", default="")
# The generic webhook's HMAC-SHA256 signing secret.
LIBRARY_SYSTEM_SECRET = env.str("LIBRARY_SYSTEM_SECRET", default="")
# FOLIO's tenant; Aleph's administrative library (e.g. USM50) and sub-library.
LIBRARY_SYSTEM_TENANT = env.str("LIBRARY_SYSTEM_TENANT", default="")
LIBRARY_SYSTEM_LIBRARY = env.str("LIBRARY_SYSTEM_LIBRARY", default="")
LIBRARY_SYSTEM_SUB_LIBRARY = env.str("LIBRARY_SYSTEM_SUB_LIBRARY", default="")
# Aleph's X-server, which checks a card's PIN (bor-auth); default: /X on the rest-dlf host.
LIBRARY_SYSTEM_XSERVER_URL = env.str("LIBRARY_SYSTEM_XSERVER_URL", default="")
# Each call to the library system, the answer's last byte included, ends within this.
LIBRARY_SYSTEM_TIMEOUT_SECONDS = env.float("LIBRARY_SYSTEM_TIMEOUT_SECONDS", default=10)
# With a target that can read them (koha, folio, alma, aleph), a patron's fees are read from
# the library system when the account page is opened, unless they were read less than this
# ago, and always right before a payment starts.
LIBRARY_SYSTEM_FEES_MAX_AGE_SECONDS = env.int("LIBRARY_SYSTEM_FEES_MAX_AGE_SECONDS", default=60)
# `manage.py pull_fees`: requests to one library system per second, and at most this many
# at once.
LIBRARY_SYSTEM_MAX_REQUESTS_PER_SECOND = env.float(
    "LIBRARY_SYSTEM_MAX_REQUESTS_PER_SECOND", default=10
)
LIBRARY_SYSTEM_PARALLEL_READS = env.int("LIBRARY_SYSTEM_PARALLEL_READS", default=4)
# A delivery that failed for a passing reason is sent again after this, then after twice
# as long each time, up to every 6 hours.
DELIVERY_FIRST_RETRY_SECONDS = env.float("DELIVERY_FIRST_RETRY_SECONDS", default=30)
# How long a worker holds a delivery it sends; other workers leave it alone meanwhile, and
# send it again after it if the worker died. Longer than one delivery can take: adapters
# make several calls of up to LIBRARY_SYSTEM_TIMEOUT_SECONDS each.
DELIVERY_LEASE_SECONDS = env.float("DELIVERY_LEASE_SECONDS", default=300)
