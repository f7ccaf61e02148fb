#!/usr/bin/perl
# Directive parsing: what httpd -t accepts and refuses, with the message an
# operator sees.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest;

my $t = IngestTest->new(no_httpd => 1);

sub configtest { $t->configtest(@_) }

my ($ok, $out) = configtest("IngestProcessor simulate\nIngestSimulateDelay 0 1\nIngestSimulateDuration 500ms\n"
    . "IngestWorkerInterval 1s\nIngestLeaseTime 2mi\nIngestMaxBodySize 64K\nIngestMaxUploadSize 2G\n"
    . "IngestCallbackSecret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\nIngestCallbackSecret second-secret-0123456789\n"
    . "IngestRetention 30\nIngestTenantEnv none\nIngestMaxRecordSize 4M\nIngestWorkerThreads 0\n"
    . "IngestOnBadRecord skip\nIngestMaxBadRecords 500\n"
    . "IngestStorage s3://ingest-files/prod\nIngestS3Endpoint https://minio.internal:9000\nIngestS3Region eu-west-1\n"
    . "IngestS3Credentials file:/etc/apache2/s3.credentials\nIngestS3Profile prod\nIngestS3PathStyle On\n"
    . "IngestS3PartSize 16M\n"
    . "IngestTenantWeight gold 5\nIngestTenantWeight \"team blue\" 2\n"
    . "IngestTenantMaxActiveJobs 100\nIngestTenantMaxStorage 5G\n<Location /api/internal/>\nIngestTenantMaxActiveJobs off\n"
    . "IngestTenantMaxStorage OFF\n</Location>\n");
ok($ok, 'a full, valid configuration passes httpd -t') or diag $out;

my @bad = (
    ["IngestProcessor magic", qr/IngestProcessor: 'magic' is not one of none, simulate, parse, external/],
    ["IngestSimulateFailureRate 1.5", qr/IngestSimulateFailureRate: '1.5' must be a number from 0 to 1/],
    ["IngestSimulateDelay 5 1", qr/IngestSimulateDelay: MAX must not be less than MIN/],
    ["IngestSimulateDuration 0.5", qr/IngestSimulateDuration: '0.5' must be a duration/],
    ["IngestWorkerInterval 1ms", qr/IngestWorkerInterval: '1ms' must be a duration from 10ms/],
    ["IngestWorkerBatch 0", qr/IngestWorkerBatch: '0' must be a whole number from 1 to 10000/],
    ["IngestMaxAttempts -1", qr/IngestMaxAttempts/],
    ["IngestWorkerThreads 65", qr/IngestWorkerThreads: '65' must be a whole number from 0 to 64/],
    ["IngestWorkerThreads -1", qr/IngestWorkerThreads: '-1' must be a whole number from 0 to 64/],
    ["IngestWorkerThreads two", qr/IngestWorkerThreads: 'two' must be a whole number from 0 to 64/],
    ["IngestWorkerThreads 2.5", qr/IngestWorkerThreads: '2.5' must be a whole number from 0 to 64/],
    ["<VirtualHost 127.0.0.1:1>\nIngestWorkerThreads 4\n</VirtualHost>",
        qr/IngestWorkerThreads cannot occur within <VirtualHost> section/],
    ["IngestMaxBodySize 17179869184G", qr/IngestMaxBodySize: '17179869184G' is too large/],
    ["IngestMaxBodySize 12Q", qr/IngestMaxBodySize: '12Q' is not a size/],
    ["IngestMaxBodySize 10", qr/IngestMaxBodySize: must be at least 64/],
    ["IngestUploadTTL 0", qr/IngestUploadTTL: '0' must be whole seconds from 1/],
    ["IngestStorage gs://bucket", qr/IngestStorage: 'gs:\/\/bucket' is not file:\/path or s3:\/\/bucket\/prefix: unknown scheme/],
    ["IngestStorage s3://Bad_Bucket/x", qr/IngestStorage: .* the bucket must be 3 to 63 characters/],
    ["IngestStorage file:/nonexistent/dir", qr/IngestStorage: '\/nonexistent\/dir' is not an existing directory/],
    ["IngestS3Endpoint http://h:9000/path", qr/IngestS3Endpoint: 'http:\/\/h:9000\/path' must be a scheme and a host/],
    ["IngestS3Endpoint minio:9000", qr/IngestS3Endpoint: 'minio:9000' must begin with http:\/\/ or https:\/\//],
    ["IngestS3Credentials AKIAIOSFODNN7EXAMPLE", qr/IngestS3Credentials: 'AKIAIOSFODNN7EXAMPLE' must be file:\/path/],
    ["IngestS3PartSize 1M", qr/IngestS3PartSize: must be at least 5242880/],
    ["IngestS3PartSize 1G", qr/IngestS3PartSize: must be at most 536870912/],
    ["<VirtualHost 127.0.0.1:1>\nIngestStorage s3://bucket\n</VirtualHost>",
        qr/IngestStorage cannot occur within <VirtualHost> section/],
    ["IngestOnBadRecord ignore", qr/IngestOnBadRecord: 'ignore' is not fail or skip/],
    ["IngestMaxBadRecords -1", qr/IngestMaxBadRecords: '-1' must be a whole number from 0 to 2147483646/],
    ["IngestMaxBadRecords many", qr/IngestMaxBadRecords: 'many' must be a whole number/],
    ["<VirtualHost 127.0.0.1:1>\nIngestOnBadRecord skip\n</VirtualHost>",
        qr/IngestOnBadRecord cannot occur within <VirtualHost> section/],
    ["IngestMaxRecordSize 1000", qr/IngestMaxRecordSize: must be at least 1024/],
    ["IngestMaxRecordSize 65M", qr/IngestMaxRecordSize: must be at most 67108864/],
    ["IngestMaxRecordSize lots", qr/IngestMaxRecordSize: 'lots' is not a size/],
    ["<VirtualHost 127.0.0.1:1>\nIngestMaxRecordSize 2M\n</VirtualHost>",
        qr/IngestMaxRecordSize cannot occur within <VirtualHost> section/],
    ["IngestTenantWeight gold 0", qr/IngestTenantWeight: '0' must be a whole number from 1 to 1000/],
    ["IngestTenantWeight gold 1001", qr/IngestTenantWeight: '1001' must be a whole number from 1 to 1000/],
    ["IngestTenantWeight gold", qr/IngestTenantWeight takes two arguments/],
    ["IngestTenantWeight gold 2\nIngestTenantWeight gold 3", qr/IngestTenantWeight: tenant 'gold' already has a weight/],
    ["<VirtualHost 127.0.0.1:1>\nIngestTenantWeight gold 2\n</VirtualHost>",
        qr/IngestTenantWeight cannot occur within <VirtualHost> section/],
    ["IngestTenantMaxActiveJobs 0", qr/IngestTenantMaxActiveJobs: '0' must be a whole number from 1/],
    ["IngestTenantMaxActiveJobs many", qr/IngestTenantMaxActiveJobs: 'many' must be a whole number/],
    ["IngestTenantMaxStorage lots", qr/IngestTenantMaxStorage: 'lots' is not a size/],
    ["IngestTenantMaxStorage 0", qr/IngestTenantMaxStorage: must be at least 1/],
    ["IngestJWTSecret short", qr/IngestJWTSecret: the secret must be at least 16 bytes/],
    ["IngestJWTSecret file:/nonexistent/secret", qr/IngestJWTSecret: cannot read '\/nonexistent\/secret'/],
    ["IngestCallbackSecret whsec_!!!notbase64!!!", qr/IngestCallbackSecret: /],
    ["IngestCallbackSecret a-first-secret-0123456789\nIngestCallbackSecret a-second-secret-0123456789\n"
        . "IngestCallbackSecret a-third-secret-01234567890", qr/IngestCallbackSecret: at most 2 secrets/],
    ["IngestCallbackAuth maybe", qr/IngestCallbackAuth: 'maybe' is not signature or none/],
    ["IngestJWTLeeway 2h", qr/IngestJWTLeeway: '2h' must be a duration from 0ms to 3600s/],
    ["IngestJWTRequireExp maybe", qr/IngestJWTRequireExp must be On or Off/],
    ["IngestJWTIssuer \"\"", qr/IngestJWTIssuer takes one argument/],
    ["IngestJWTAudience \"\"", qr/IngestJWTAudience takes one argument/],
    ["<VirtualHost 127.0.0.1:1>\nIngestProcessor simulate\n</VirtualHost>", qr/IngestProcessor cannot occur within <VirtualHost> section/],
    ["<Location /x>\nIngestUploadSecret some-upload-secret-0123\n</Location>", qr/IngestUploadSecret not allowed in <Location> context/],
);
for my $b (@bad) {
    my ($conf, $re) = @$b;
    my ($pass, $msg) = configtest($conf);
    ok(!$pass, "refused: " . (split /\n/, $conf)[0]);
    like($msg, $re, '... with a message naming the directive');
}

done_testing;
