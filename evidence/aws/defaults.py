"""Collection defaults the command line and settings show before anything talks to AWS: constants only, so that
`--help` and settings need not load boto3 to print them."""

DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"  # the role AWS Organizations creates in member accounts
DEFAULT_CALLS_PER_SERVICE = 4  # AWS calls in flight per (account, service)
DEFAULT_PARTITION = "aws"
