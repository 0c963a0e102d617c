"""The estate builder: plants AWS resources through boto3 (against moto, in-process or `moto_server`), one module
per resource family. `auditpack demo` builds Acme Health with it from data (`auditpack/demo/estate.yaml`); the
tests' scenario estate (`tests/evidence/estate.py`) and the API's small estate call the same families directly.

Layout:

- `target.Target`: where to plant (a session in one account, a region; `at(region)` for another region of the
  same account) and the tally of what was planted. `target.Spec` is the base of every resource spec (pydantic,
  frozen, unknown fields are errors).
- One module per family, each with its spec model(s) and `plant_<thing>(target, spec, *, <resolved ids>)`:
  `organization`, `iam`, `s3`, `kms`, `logs` (log groups, the CIS security alarms of `security_alarms.yaml`),
  `cloudtrail`, `detection` (Config, GuardDuty, Security Hub, Macie), `ec2` (VPCs, security groups, instances,
  volumes and their snapshots), `rds` (instances, their snapshots, Aurora clusters), `elb`, `lambda_`, `dynamodb`,
  `containers` (ECS, EKS), `backup`, `secrets`. A family function plants one resource with exactly the calls its
  spec asks for, counts it in `target.tally`, returns its id or ARN, and takes what it depends on as resolved ids
  (a key's ARN, subnets): composing families is the caller's business.
- `plan`: a whole estate as data (`Estate` > `Account` > `Region` > `Network`) and the order it is planted in.

Not planted here, because only one caller wants them: facts AWS offers no API for (root MFA, key ages; the demo's
`simulated.py` and the tests' `_backdate` poke moto's backends), and deliberate secrets (the caller passes them).

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

   Defaults describe the compliant resource; a planted problem is a field set the other way. When the new check
   reads a property of a resource already planted (S3 access logging or lifecycle, RDS log exports, ELB access
   logs), add a field to the existing spec instead, whose default makes no call, so every existing estate plants
   exactly what it did.
2. To drive it from the demo's data: a field on `plan.Region` (or `plan.Account` for global resources), e.g.
   `ecr_repositories: tuple[Repository, ...] = ()`, a loop in `plan.plant_region` after the existing families,
   and entries in `auditpack/demo/estate.yaml` (a `PROBLEM` comment on a planted failure). moto draws every id,
   and every response's request id, from its seeded generator in call order: resources planted after a new call
   get new ids (stable from run to run again afterwards). Compare the demo's summary and `auditpack findings`
   before and after: only the new checks' rows may change.
3. In the scenario estate, plant a passing and a failing resource with the family function and record the ids
   the check tests name in `estate.ids`.
4. Where moto lacks the API, the family cannot plant it: say so in its docstring and test the check with
   botocore's `Stubber`.
"""
