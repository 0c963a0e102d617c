"""The estate builder: plants AWS resources through boto3 (against moto, in-process or `moto_server`), one module
per resource family. `auditpack demo` builds Acme Health with it from data (`auditpack/demo/estate.yaml`); the
tests' scenario estate (`tests/evidence/estate.py`) calls the same families directly.

Layout:

- `target.Target`: where to plant (a session in one account, a region) and the tally of what was planted;
  `target.Spec` is the base of every resource spec (pydantic, frozen, unknown fields are errors).
- One module per family, each with its spec model(s) and `plant_<thing>(target, spec, *, <resolved ids>)`:
  `organization`, `iam`, `s3`, `kms`, `logs` (log groups, CIS security alarms), `cloudtrail`, `detection`
  (Config, GuardDuty, Security Hub, Macie), `ec2` (VPCs, security groups, instances, volumes), `rds`, `elb`,
  `lambda_`, `dynamodb`, `containers` (ECS, EKS), `backup`. A family function plants one resource, returns its
  id or ARN, counts it in `target.tally`, and takes what it depends on as resolved ids (a key's ARN, a subnet),
  never by looking it up: composing families is the caller's business.
- `plan`: the whole estate as data (`Estate` > `Account` > `Region` > `Network`) and the order it is planted in.

Facts AWS offers no API for (root MFA, key ages) and deliberate secrets are not planted here: the demo and the
tests set them themselves.

Adding a resource family (e.g. ECR repositories with scan on push):

1. A module `auditpack/estate/ecr.py` with a spec and a plant function::

       class Repository(Spec):
           name: str
           scan_on_push: bool = True

       def plant_repository(target: Target, repository: Repository) -> str:
           answer = target.client("ecr").create_repository(
               repositoryName=repository.name,
               imageScanningConfiguration={"scanOnPush": repository.scan_on_push},
           )
           target.count("ECR repositories")
           return str(answer["repository"]["repositoryArn"])

   Defaults describe the compliant resource; a planted problem is a field set the other way. Extend an existing
   spec instead when the new check reads a property of a resource already planted (S3 access logging is a
   `Bucket` field, RDS log exports a `Database` field), with a default that keeps today's calls unchanged.
2. To drive it from the demo's data: a field on `plan.Region` (or `plan.Account` for global resources), e.g.
   `ecr_repositories: tuple[Repository, ...] = ()`, and a loop in `plan_region` **after** the existing families
   (moto's seeded ids follow the order of calls; appending keeps the demo's ids stable). Then entries in
   `auditpack/demo/estate.yaml`, with a `PROBLEM` comment for a planted failure.
3. In the tests' scenario estate, call `plant_repository(target, Repository(...))` for a passing and a failing
   resource, and record ids the check tests need in `estate.ids`.
4. Where moto lacks the API, the family cannot plant it: say so in the module docstring, and test the check with
   botocore's `Stubber` instead.
"""
