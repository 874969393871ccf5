"""Organization mode (issue 12): every member account of an AWS Organization, fanned out on a
Step Functions Distributed Map, told in one message.

The state machine (``statemachine/``, written with the templates) calls three functions, thin
shells in ``handlers``:

* ``accounts``: list the ACTIVE accounts (Organizations, paginated; OUs recursively), apply the
  include/exclude filters, write the Map's item list to S3;
* ``account``: per member account, assume the member role, plan the account's distributions in
  chunks (``options.MAX_DISTRIBUTION_IDS``), audit one chunk per invocation (today's
  ``audit.run_audit``) and write its JSON report to the reports bucket;
* ``aggregate``: read the Map's ResultWriter manifest and result files (``results``), load the
  chunk reports (``reports``), plan changes against the state table per account (keys include
  the account: ``state.target_id(t, account)``), publish one organization message and write the
  organization report.

Honest at this scale: an account that could not be audited (no role, access denied, throttled
after retries, timed out, missing from the results) is named with its reason and keeps its
state: nothing in it is resolved or removed (issue 7/9's partial-run rules, told once as a blind
spot of that account). This package is the entry layer's top: it uses ``handler``'s time budget.
"""
