"""Single sign-on through a SAML 2 identity provider (djangosaml2 on pysaml2): a campus
login or an IdP of the DFN-AAI federation. See docs/sign-in-saml.md.

- accounts.saml.config: the service provider's pysaml2 configuration, built from the
  settings, with the IdP's (or the federation's) metadata, its signature checked;
- accounts.saml.views: djangosaml2's views under /saml2/, with the portal's answers when a
  sign-in does not work, and the IdP's single logout;
- payments.saml_signin: the backend, which finds the patron the assertion names.
"""
