/** S3 buckets as qpipe's stacks make them: encrypted, private, and reachable over TLS only. */

/** An S3 bucket encrypted at rest and closed to the public, with the given extra properties. */
export function privateBucket(properties: Record<string, unknown>) {
  return {
    Type: 'AWS::S3::Bucket',
    Properties: {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      ...properties,
    },
  };
}

/** A bucket policy refusing every request not made over TLS. */
export function tlsOnly(bucket: string) {
  const arn = { 'Fn::GetAtt': [bucket, 'Arn'] };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'tls-only',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [arn, { 'Fn::Join': ['', [arn, '/*']] }],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  };
}
