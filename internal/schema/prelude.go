package schema

import "github.com/dsgen/dsgen/runtime/appsync"

// prelude declares the Amplify GraphQL transformer v2 directives, the AWS
// AppSync scalars and the AppSync directives, so that user schemas validate
// without declaring them. Argument shapes follow
// @aws-amplify/graphql-directives.
const prelude = appsync.Prelude + commonDirectives + `

directive @primaryKey(sortKeyFields: [String]) on FIELD_DEFINITION
directive @index(name: String, sortKeyFields: [String], queryField: String) repeatable on FIELD_DEFINITION
directive @hasOne(fields: [String!], references: [String!]) on FIELD_DEFINITION
directive @hasMany(indexName: String, fields: [String!], references: [String!], limit: Int = 100) on FIELD_DEFINITION
directive @belongsTo(fields: [String!], references: [String!]) on FIELD_DEFINITION
directive @manyToMany(relationName: String!, limit: Int = 100) on FIELD_DEFINITION
directive @default(value: String) on FIELD_DEFINITION

directive @auth(rules: [AuthRule!]!) on OBJECT | FIELD_DEFINITION
input AuthRule {
  allow: AuthStrategy!
  provider: AuthProvider
  identityClaim: String
  groupClaim: String
  ownerField: String
  groupsField: String
  groups: [String]
  operations: [ModelOperation]
}
enum AuthStrategy { owner groups private public custom }
enum AuthProvider { apiKey iam oidc userPools function }
enum ModelOperation { create update delete read list get sync listen search }

directive @function(name: String!, region: String, accountId: String) repeatable on FIELD_DEFINITION
directive @mapsTo(name: String!) on OBJECT
directive @refersTo(name: String!) on OBJECT | FIELD_DEFINITION
directive @sql(statement: String, reference: String) on FIELD_DEFINITION
`

// commonDirectives declares what transformer v1 and v2 declare alike:
// @model, @searchable, @http and @predictions, and dsgen's @renamedFrom.
const commonDirectives = `
directive @model(queries: ModelQueryMap, mutations: ModelMutationMap, subscriptions: ModelSubscriptionMap, timestamps: TimestampConfiguration) on OBJECT
input ModelQueryMap { get: String, list: String }
input ModelMutationMap { create: String, update: String, delete: String }
input ModelSubscriptionMap { onCreate: [String], onUpdate: [String], onDelete: [String], level: ModelSubscriptionLevel }
enum ModelSubscriptionLevel { off public on }
input TimestampConfiguration { createdAt: String, updatedAt: String }
directive @renamedFrom(name: String!) repeatable on OBJECT | FIELD_DEFINITION

directive @searchable(queries: SearchableQueryMap) on OBJECT
input SearchableQueryMap { search: String }
directive @http(method: HttpMethod = GET, url: String!, headers: [HttpHeader] = []) on FIELD_DEFINITION
enum HttpMethod { GET POST PUT DELETE PATCH }
input HttpHeader { key: String, value: String }
directive @predictions(actions: [PredictionsActions!]!) on FIELD_DEFINITION
enum PredictionsActions { identifyText identifyLabels convertTextToSpeech translateText }
`

// preludeName is the source name the prelude's definitions carry; they are
// never reported to users as theirs.
const preludeName = "dsgen-prelude.graphql"
