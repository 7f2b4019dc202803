// Code generated - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package bindings

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"time"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/event"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = errors.New
	_ = big.NewInt
	_ = strings.NewReader
	_ = ethereum.NotFound
	_ = bind.Bind
	_ = common.Big1
	_ = types.BloomLookup
	_ = event.NewSubscription
	_ = abi.ConvertType
	_ = time.Tick
	_ = context.Background
)

// CheckpointAnchorCheckpoint is an auto generated low-level Go binding around an user-defined struct.
type CheckpointAnchorCheckpoint struct {
	Epoch            uint64
	Height           uint64
	AppHash          [32]byte
	PrevHash         [32]byte
	ValidatorSet     *big.Int
	NextValidatorSet *big.Int
	CheckpointHash   [32]byte
}

// CheckpointAnchorMetaData contains all meta data concerning the CheckpointAnchor contract.
var CheckpointAnchorMetaData = &bind.MetaData{
	ABI: "[{\"inputs\":[{\"internalType\":\"contractIVerifier\",\"name\":\"verifier_\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"chainIdHash_\",\"type\":\"bytes32\"},{\"components\":[{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"internalType\":\"uint64\",\"name\":\"height\",\"type\":\"uint64\"},{\"internalType\":\"bytes32\",\"name\":\"appHash\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"prevHash\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"validatorSet\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"nextValidatorSet\",\"type\":\"uint256\"},{\"internalType\":\"bytes32\",\"name\":\"checkpointHash\",\"type\":\"bytes32\"}],\"internalType\":\"structCheckpointAnchor.Checkpoint\",\"name\":\"trusted\",\"type\":\"tuple\"}],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"expected\",\"type\":\"uint64\"},{\"internalType\":\"uint64\",\"name\":\"got\",\"type\":\"uint64\"}],\"name\":\"EpochOutOfOrder\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"latest\",\"type\":\"uint64\"},{\"internalType\":\"uint64\",\"name\":\"got\",\"type\":\"uint64\"}],\"name\":\"HeightNotIncreasing\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"expected\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"got\",\"type\":\"bytes32\"}],\"name\":\"PrevHashMismatch\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"expected\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"got\",\"type\":\"uint256\"}],\"name\":\"ValidatorSetMismatch\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"indexed\":false,\"internalType\":\"uint64\",\"name\":\"height\",\"type\":\"uint64\"},{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"appHash\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"checkpointHash\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"validatorSet\",\"type\":\"uint256\"}],\"name\":\"CheckpointAnchored\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"previous\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"next\",\"type\":\"uint256\"}],\"name\":\"ValidatorSetHandedOver\",\"type\":\"event\"},{\"inputs\":[],\"name\":\"DOMAIN\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"anchoredAtBlock\",\"outputs\":[{\"internalType\":\"uint64\",\"name\":\"\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"\",\"type\":\"uint64\"}],\"name\":\"appHash\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"chainIdHash\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"\",\"type\":\"uint64\"}],\"name\":\"checkpointHash\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"internalType\":\"uint64\",\"name\":\"height\",\"type\":\"uint64\"},{\"internalType\":\"bytes32\",\"name\":\"appHash\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"prevHash\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"validatorSet\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"nextValidatorSet\",\"type\":\"uint256\"},{\"internalType\":\"bytes32\",\"name\":\"checkpointHash\",\"type\":\"bytes32\"}],\"internalType\":\"structCheckpointAnchor.Checkpoint\",\"name\":\"cp\",\"type\":\"tuple\"}],\"name\":\"digest\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"latest\",\"outputs\":[{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"internalType\":\"uint64\",\"name\":\"height\",\"type\":\"uint64\"},{\"internalType\":\"bytes32\",\"name\":\"appHash_\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"checkpointHash_\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"validatorSet_\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"latestEpoch\",\"outputs\":[{\"internalType\":\"uint64\",\"name\":\"\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"latestHeight\",\"outputs\":[{\"internalType\":\"uint64\",\"name\":\"\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"uint64\",\"name\":\"epoch\",\"type\":\"uint64\"},{\"internalType\":\"uint64\",\"name\":\"height\",\"type\":\"uint64\"},{\"internalType\":\"bytes32\",\"name\":\"appHash\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"prevHash\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"validatorSet\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"nextValidatorSet\",\"type\":\"uint256\"},{\"internalType\":\"bytes32\",\"name\":\"checkpointHash\",\"type\":\"bytes32\"}],\"internalType\":\"structCheckpointAnchor.Checkpoint\",\"name\":\"cp\",\"type\":\"tuple\"},{\"internalType\":\"bytes\",\"name\":\"proof\",\"type\":\"bytes\"}],\"name\":\"submitCheckpoint\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"validatorSet\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"verifier\",\"outputs\":[{\"internalType\":\"contractIVerifier\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"}]",
	Bin: "0x60c060405234801561000f575f5ffd5b50604051610b69380380610b6983398101604081905261002e91610139565b6001600160a01b038316608090815260a083815282515f8054602080870180516001600160401b039586166001600160801b03199094168417680100000000000000009187169190910217600160801b600160c01b031916600160801b43871602178455948701805160015560c0880180519385526002835260408086209490945583890180518a51881687526003855295859020959095558851965194519051915184519587168652928501529183019190915260608201529116917f951be6baf056e29839e98f92322422d4ad5db42b87e53e96f887db4cd45c085a910160405180910390a2505050610213565b80516001600160401b0381168114610134575f5ffd5b919050565b5f5f5f83850361012081121561014d575f5ffd5b84516001600160a01b0381168114610163575f5ffd5b6020860151909450925060e0603f198201121561017e575f5ffd5b5060405160e081016001600160401b03811182821017156101ad57634e487b7160e01b5f52604160045260245ffd5b80604052506101be6040860161011e565b81526101cc6060860161011e565b6020820152608085810151604083015260a080870151606084015260c0808801519284019290925260e0870151908301526101009095015194810194909452509093909250565b60805160a0516109286102415f395f818161021c01526106c601525f818160cf015261041101526109285ff3fe608060405234801561000f575f5ffd5b50600436106100b1575f3560e01c80638475ff151161006e5780638475ff15146101e65780639289acac146102175780639426e2261461023e5780639cb118bf14610247578063e405bbc314610259578063fb1da0fd14610272575f5ffd5b806305907711146100b55780632b7ac3f3146100ca57806340a95fe61461010e57806352a9674b1461013b57806352bfe7891461016257806359d69bed146101d3575b5f5ffd5b6100c86100c33660046107a2565b610291565b005b6100f17f000000000000000000000000000000000000000000000000000000000000000081565b6040516001600160a01b0390911681526020015b60405180910390f35b61012d61011c366004610820565b60026020525f908152604090205481565b604051908152602001610105565b61012d7fc6781bc0c3a5f06590ad98b2f739b31dab29203561104b67156daa42fe9d113181565b6101a05f80546001600160401b03808216808452600360209081526040808620546002909252909420546001549194600160401b9094049092169394565b604080516001600160401b039687168152959094166020860152928401919091526060830152608082015260a001610105565b61012d6101e136600461084d565b61069a565b5f546101ff90600160801b90046001600160401b031681565b6040516001600160401b039091168152602001610105565b61012d7f000000000000000000000000000000000000000000000000000000000000000081565b61012d60015481565b5f546101ff906001600160401b031681565b5f546101ff90600160401b90046001600160401b031681565b61012d610280366004610820565b60036020525f908152604090205481565b5f546001600160401b03166102a7816001610867565b6001600160401b03166102bd6020860186610820565b6001600160401b031614610314576102d6816001610867565b6102e36020860186610820565b604051632abeb08d60e21b81526001600160401b039283166004820152911660248201526044015b60405180910390fd5b5f54600160401b90046001600160401b03166103366040860160208701610820565b6001600160401b031611610392575f54600160401b90046001600160401b03166103666040860160208701610820565b6040516302e14f0160e41b81526001600160401b0392831660048201529116602482015260440161030b565b6001600160401b0381165f90815260026020526040902054606085013581146103db57604051630b30e67760e01b8152600481018290526060860135602482015260440161030b565b6001546080860135811461040f57604051634a7b03bd60e11b8152600481018290526080870135602482015260440161030b565b7f00000000000000000000000000000000000000000000000000000000000000006001600160a01b031663e1ff5082868660405180604001604052806104548c61069a565b8152602001868152506040518463ffffffff1660e01b815260040161047b93929190610898565b5f6040518083038186803b158015610491575f5ffd5b505afa1580156104a3573d5f5f3e3d5ffd5b506104b5925050506020870187610820565b5f805467ffffffffffffffff19166001600160401b03929092169190911790556104e56040870160208801610820565b5f805477ffffffffffffffffffffffffffffffff00000000000000001916600160401b6001600160401b039384160267ffffffffffffffff60801b191617600160801b43939093169290920291909117815560c08701359060029061054d60208a018a610820565b6001600160401b03166001600160401b031681526020019081526020015f2081905550856040013560035f885f01602081019061058a9190610820565b6001600160401b0316815260208101919091526040015f205560a086013581146106135760a08601356001556105c36020870187610820565b6001600160401b03167f03575ecd9202afd8f378ff332fa4946336f8c725c099699190ce835e6f89b0f3828860a0013560405161060a929190918252602082015260400190565b60405180910390a25b6106206020870187610820565b6001600160401b03167f951be6baf056e29839e98f92322422d4ad5db42b87e53e96f887db4cd45c085a61065a6040890160208a01610820565b604080516001600160401b039092168252808a0135602083015260c08a01359082015260a0890135606082015260800160405180910390a2505050505050565b5f6001600160fd1b037fc6781bc0c3a5f06590ad98b2f739b31dab29203561104b67156daa42fe9d11317f00000000000000000000000000000000000000000000000000000000000000006106f26020860186610820565b6107026040870160208801610820565b604080516020810195909552848101939093526001600160401b0391821660608581019190915291166080848101919091529186013560a0848101919091529086013560c0848101919091529186013560e08401528501356101008301528401356101208201526101400160408051601f1981840301815291905280516020909101201692915050565b5f60e0828403121561079c575f5ffd5b50919050565b5f5f5f61010084860312156107b5575f5ffd5b6107bf858561078c565b925060e08401356001600160401b038111156107d9575f5ffd5b8401601f810186136107e9575f5ffd5b80356001600160401b038111156107fe575f5ffd5b86602082840101111561080f575f5ffd5b939660209190910195509293505050565b5f60208284031215610830575f5ffd5b81356001600160401b0381168114610846575f5ffd5b9392505050565b5f60e0828403121561085d575f5ffd5b610846838361078c565b6001600160401b03818116838216019081111561089257634e487b7160e01b5f52601160045260245ffd5b92915050565b60608152826060820152828460808301375f608084830101525f6080601f19601f860116830101905060208201835f5b60028110156108e75781518352602092830192909101906001016108c8565b50505094935050505056fea264697066735822122019c598c65ea05f1c56529594d339a8b722fb88c3b16c5c9f205aa22117f51a7764736f6c634300081e0033",
}

// CheckpointAnchorABI is the input ABI used to generate the binding from.
// Deprecated: Use CheckpointAnchorMetaData.ABI instead.
var CheckpointAnchorABI = CheckpointAnchorMetaData.ABI

// CheckpointAnchorBin is the compiled bytecode used for deploying new contracts.
// Deprecated: Use CheckpointAnchorMetaData.Bin instead.
var CheckpointAnchorBin = CheckpointAnchorMetaData.Bin

// DeployCheckpointAnchor deploys a new Ethereum contract, binding an instance of CheckpointAnchor to it.
func DeployCheckpointAnchor(auth *bind.TransactOpts, backend bind.ContractBackend, verifier_ common.Address, chainIdHash_ [32]byte, trusted CheckpointAnchorCheckpoint) (common.Address, *types.Transaction, *CheckpointAnchor, error) {
	parsed, err := CheckpointAnchorMetaData.GetAbi()
	if err != nil {
		return common.Address{}, nil, nil, err
	}
	if parsed == nil {
		return common.Address{}, nil, nil, errors.New("GetABI returned nil")
	}

	address, tx, contract, err := bind.DeployContract(auth, *parsed, common.FromHex(CheckpointAnchorBin), backend, verifier_, chainIdHash_, trusted)
	if err != nil {
		return common.Address{}, nil, nil, err
	}
	return address, tx, &CheckpointAnchor{CheckpointAnchorCaller: CheckpointAnchorCaller{contract: contract}, CheckpointAnchorTransactor: CheckpointAnchorTransactor{contract: contract}, CheckpointAnchorFilterer: CheckpointAnchorFilterer{contract: contract}}, nil
}

// CheckpointAnchor is an auto generated Go binding around an Ethereum contract.
type CheckpointAnchor struct {
	CheckpointAnchorCaller     // Read-only binding to the contract
	CheckpointAnchorTransactor // Write-only binding to the contract
	CheckpointAnchorFilterer   // Log filterer for contract events
}

// CheckpointAnchorCaller is an auto generated read-only Go binding around an Ethereum contract.
type CheckpointAnchorCaller struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// CheckpointAnchorTransactor is an auto generated write-only Go binding around an Ethereum contract.
type CheckpointAnchorTransactor struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// CheckpointAnchorFilterer is an auto generated log filtering Go binding around an Ethereum contract events.
type CheckpointAnchorFilterer struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// CheckpointAnchorSession is an auto generated Go binding around an Ethereum contract,
// with pre-set call and transact options.
type CheckpointAnchorSession struct {
	Contract     *CheckpointAnchor // Generic contract binding to set the session for
	CallOpts     bind.CallOpts     // Call options to use throughout this session
	TransactOpts bind.TransactOpts // Transaction auth options to use throughout this session
}

// CheckpointAnchorCallerSession is an auto generated read-only Go binding around an Ethereum contract,
// with pre-set call options.
type CheckpointAnchorCallerSession struct {
	Contract *CheckpointAnchorCaller // Generic contract caller binding to set the session for
	CallOpts bind.CallOpts           // Call options to use throughout this session
}

// CheckpointAnchorTransactorSession is an auto generated write-only Go binding around an Ethereum contract,
// with pre-set transact options.
type CheckpointAnchorTransactorSession struct {
	Contract     *CheckpointAnchorTransactor // Generic contract transactor binding to set the session for
	TransactOpts bind.TransactOpts           // Transaction auth options to use throughout this session
}

// CheckpointAnchorRaw is an auto generated low-level Go binding around an Ethereum contract.
type CheckpointAnchorRaw struct {
	Contract *CheckpointAnchor // Generic contract binding to access the raw methods on
}

// CheckpointAnchorCallerRaw is an auto generated low-level read-only Go binding around an Ethereum contract.
type CheckpointAnchorCallerRaw struct {
	Contract *CheckpointAnchorCaller // Generic read-only contract binding to access the raw methods on
}

// CheckpointAnchorTransactorRaw is an auto generated low-level write-only Go binding around an Ethereum contract.
type CheckpointAnchorTransactorRaw struct {
	Contract *CheckpointAnchorTransactor // Generic write-only contract binding to access the raw methods on
}

// NewCheckpointAnchor creates a new instance of CheckpointAnchor, bound to a specific deployed contract.
func NewCheckpointAnchor(address common.Address, backend bind.ContractBackend) (*CheckpointAnchor, error) {
	contract, err := bindCheckpointAnchor(address, backend, backend, backend)
	if err != nil {
		return nil, err
	}
	return &CheckpointAnchor{CheckpointAnchorCaller: CheckpointAnchorCaller{contract: contract}, CheckpointAnchorTransactor: CheckpointAnchorTransactor{contract: contract}, CheckpointAnchorFilterer: CheckpointAnchorFilterer{contract: contract}}, nil
}

// NewCheckpointAnchorCaller creates a new read-only instance of CheckpointAnchor, bound to a specific deployed contract.
func NewCheckpointAnchorCaller(address common.Address, caller bind.ContractCaller) (*CheckpointAnchorCaller, error) {
	contract, err := bindCheckpointAnchor(address, caller, nil, nil)
	if err != nil {
		return nil, err
	}
	return &CheckpointAnchorCaller{contract: contract}, nil
}

// NewCheckpointAnchorTransactor creates a new write-only instance of CheckpointAnchor, bound to a specific deployed contract.
func NewCheckpointAnchorTransactor(address common.Address, transactor bind.ContractTransactor) (*CheckpointAnchorTransactor, error) {
	contract, err := bindCheckpointAnchor(address, nil, transactor, nil)
	if err != nil {
		return nil, err
	}
	return &CheckpointAnchorTransactor{contract: contract}, nil
}

// NewCheckpointAnchorFilterer creates a new log filterer instance of CheckpointAnchor, bound to a specific deployed contract.
func NewCheckpointAnchorFilterer(address common.Address, filterer bind.ContractFilterer) (*CheckpointAnchorFilterer, error) {
	contract, err := bindCheckpointAnchor(address, nil, nil, filterer)
	if err != nil {
		return nil, err
	}
	return &CheckpointAnchorFilterer{contract: contract}, nil
}

// bindCheckpointAnchor binds a generic wrapper to an already deployed contract.
func bindCheckpointAnchor(address common.Address, caller bind.ContractCaller, transactor bind.ContractTransactor, filterer bind.ContractFilterer) (*bind.BoundContract, error) {
	parsed, err := CheckpointAnchorMetaData.GetAbi()
	if err != nil {
		return nil, err
	}
	return bind.NewBoundContract(address, *parsed, caller, transactor, filterer), nil
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_CheckpointAnchor *CheckpointAnchorRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _CheckpointAnchor.Contract.CheckpointAnchorCaller.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_CheckpointAnchor *CheckpointAnchorRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _CheckpointAnchor.Contract.CheckpointAnchorTransactor.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_CheckpointAnchor *CheckpointAnchorRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _CheckpointAnchor.Contract.CheckpointAnchorTransactor.contract.Transact(opts, method, params...)
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_CheckpointAnchor *CheckpointAnchorCallerRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _CheckpointAnchor.Contract.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_CheckpointAnchor *CheckpointAnchorTransactorRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _CheckpointAnchor.Contract.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_CheckpointAnchor *CheckpointAnchorTransactorRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _CheckpointAnchor.Contract.contract.Transact(opts, method, params...)
}

// DOMAIN is a free data retrieval call binding the contract method 0x52a9674b.
//
// Solidity: function DOMAIN() view returns(bytes32)
func (_CheckpointAnchor *CheckpointAnchorCaller) DOMAIN(opts *bind.CallOpts) ([32]byte, error) {
	var out []interface{}
	err := _CheckpointAnchor.contract.Call(opts, &out, "DOMAIN")

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// DOMAIN is a free data retrieval call binding the contract method 0x52a9674b.
//
// Solidity: function DOMAIN() view returns(bytes32)
func (_CheckpointAnchor *CheckpointAnchorSession) DOMAIN() ([32]byte, error) {
	return _CheckpointAnchor.Contract.DOMAIN(&_CheckpointAnchor.CallOpts)
}

// DOMAIN is a free data retrieval call binding the contract method 0x52a9674b.
//
// Solidity: function DOMAIN() view returns(bytes32)
func (_CheckpointAnchor *CheckpointAnchorCallerSession) DOMAIN() ([32]byte, error) {
	return _CheckpointAnchor.Contract.DOMAIN(&_CheckpointAnchor.CallOpts)
}

// AnchoredAtBlock is a free data retrieval call binding the contract method 0x8475ff15.
//
// Solidity: function anchoredAtBlock() view returns(uint64)
func (_CheckpointAnchor *CheckpointAnchorCaller) AnchoredAtBlock(opts *bind.CallOpts) (uint64, error) {
	var out []interface{}
	err := _CheckpointAnchor.contract.Call(opts, &out, "anchoredAtBlock")

	if err != nil {
		return *new(uint64), err
	}

	out0 := *abi.ConvertType(out[0], new(uint64)).(*uint64)

	return out0, err

}

// AnchoredAtBlock is a free data retrieval call binding the contract method 0x8475ff15.
//
// Solidity: function anchoredAtBlock() view returns(uint64)
func (_CheckpointAnchor *CheckpointAnchorSession) AnchoredAtBlock() (uint64, error) {
	return _CheckpointAnchor.Contract.AnchoredAtBlock(&_CheckpointAnchor.CallOpts)
}

// AnchoredAtBlock is a free data retrieval call binding the contract method 0x8475ff15.
//
// Solidity: function anchoredAtBlock() view returns(uint64)
func (_CheckpointAnchor *CheckpointAnchorCallerSession) AnchoredAtBlock() (uint64, error) {
	return _CheckpointAnchor.Contract.AnchoredAtBlock(&_CheckpointAnchor.CallOpts)
}

// AppHash is a free data retrieval call binding the contract method 0xfb1da0fd.
//
// Solidity: function appHash(uint64 ) view returns(bytes32)
func (_CheckpointAnchor *CheckpointAnchorCaller) AppHash(opts *bind.CallOpts, arg0 uint64) ([32]byte, error) {
	var out []interface{}
	err := _CheckpointAnchor.contract.Call(opts, &out, "appHash", arg0)

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// AppHash is a free data retrieval call binding the contract method 0xfb1da0fd.
//
// Solidity: function appHash(uint64 ) view returns(bytes32)
func (_CheckpointAnchor *CheckpointAnchorSession) AppHash(arg0 uint64) ([32]byte, error) {
	return _CheckpointAnchor.Contract.AppHash(&_CheckpointAnchor.CallOpts, arg0)
}

// AppHash is a free data retrieval call binding the contract method 0xfb1da0fd.
//
// Solidity: function appHash(uint64 ) view returns(bytes32)
func (_CheckpointAnchor *CheckpointAnchorCallerSession) AppHash(arg0 uint64) ([32]byte, error) {
	return _CheckpointAnchor.Contract.AppHash(&_CheckpointAnchor.CallOpts, arg0)
}

// ChainIdHash is a free data retrieval call binding the contract method 0x9289acac.
//
// Solidity: function chainIdHash() view returns(bytes32)
func (_CheckpointAnchor *CheckpointAnchorCaller) ChainIdHash(opts *bind.CallOpts) ([32]byte, error) {
	var out []interface{}
	err := _CheckpointAnchor.contract.Call(opts, &out, "chainIdHash")

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// ChainIdHash is a free data retrieval call binding the contract method 0x9289acac.
//
// Solidity: function chainIdHash() view returns(bytes32)
func (_CheckpointAnchor *CheckpointAnchorSession) ChainIdHash() ([32]byte, error) {
	return _CheckpointAnchor.Contract.ChainIdHash(&_CheckpointAnchor.CallOpts)
}

// ChainIdHash is a free data retrieval call binding the contract method 0x9289acac.
//
// Solidity: function chainIdHash() view returns(bytes32)
func (_CheckpointAnchor *CheckpointAnchorCallerSession) ChainIdHash() ([32]byte, error) {
	return _CheckpointAnchor.Contract.ChainIdHash(&_CheckpointAnchor.CallOpts)
}

// CheckpointHash is a free data retrieval call binding the contract method 0x40a95fe6.
//
// Solidity: function checkpointHash(uint64 ) view returns(bytes32)
func (_CheckpointAnchor *CheckpointAnchorCaller) CheckpointHash(opts *bind.CallOpts, arg0 uint64) ([32]byte, error) {
	var out []interface{}
	err := _CheckpointAnchor.contract.Call(opts, &out, "checkpointHash", arg0)

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// CheckpointHash is a free data retrieval call binding the contract method 0x40a95fe6.
//
// Solidity: function checkpointHash(uint64 ) view returns(bytes32)
func (_CheckpointAnchor *CheckpointAnchorSession) CheckpointHash(arg0 uint64) ([32]byte, error) {
	return _CheckpointAnchor.Contract.CheckpointHash(&_CheckpointAnchor.CallOpts, arg0)
}

// CheckpointHash is a free data retrieval call binding the contract method 0x40a95fe6.
//
// Solidity: function checkpointHash(uint64 ) view returns(bytes32)
func (_CheckpointAnchor *CheckpointAnchorCallerSession) CheckpointHash(arg0 uint64) ([32]byte, error) {
	return _CheckpointAnchor.Contract.CheckpointHash(&_CheckpointAnchor.CallOpts, arg0)
}

// Digest is a free data retrieval call binding the contract method 0x59d69bed.
//
// Solidity: function digest((uint64,uint64,bytes32,bytes32,uint256,uint256,bytes32) cp) view returns(uint256)
func (_CheckpointAnchor *CheckpointAnchorCaller) Digest(opts *bind.CallOpts, cp CheckpointAnchorCheckpoint) (*big.Int, error) {
	var out []interface{}
	err := _CheckpointAnchor.contract.Call(opts, &out, "digest", cp)

	if err != nil {
		return *new(*big.Int), err
	}

	out0 := *abi.ConvertType(out[0], new(*big.Int)).(**big.Int)

	return out0, err

}

// Digest is a free data retrieval call binding the contract method 0x59d69bed.
//
// Solidity: function digest((uint64,uint64,bytes32,bytes32,uint256,uint256,bytes32) cp) view returns(uint256)
func (_CheckpointAnchor *CheckpointAnchorSession) Digest(cp CheckpointAnchorCheckpoint) (*big.Int, error) {
	return _CheckpointAnchor.Contract.Digest(&_CheckpointAnchor.CallOpts, cp)
}

// Digest is a free data retrieval call binding the contract method 0x59d69bed.
//
// Solidity: function digest((uint64,uint64,bytes32,bytes32,uint256,uint256,bytes32) cp) view returns(uint256)
func (_CheckpointAnchor *CheckpointAnchorCallerSession) Digest(cp CheckpointAnchorCheckpoint) (*big.Int, error) {
	return _CheckpointAnchor.Contract.Digest(&_CheckpointAnchor.CallOpts, cp)
}

// Latest is a free data retrieval call binding the contract method 0x52bfe789.
//
// Solidity: function latest() view returns(uint64 epoch, uint64 height, bytes32 appHash_, bytes32 checkpointHash_, uint256 validatorSet_)
func (_CheckpointAnchor *CheckpointAnchorCaller) Latest(opts *bind.CallOpts) (struct {
	Epoch          uint64
	Height         uint64
	AppHash        [32]byte
	CheckpointHash [32]byte
	ValidatorSet   *big.Int
}, error) {
	var out []interface{}
	err := _CheckpointAnchor.contract.Call(opts, &out, "latest")

	outstruct := new(struct {
		Epoch          uint64
		Height         uint64
		AppHash        [32]byte
		CheckpointHash [32]byte
		ValidatorSet   *big.Int
	})
	if err != nil {
		return *outstruct, err
	}

	outstruct.Epoch = *abi.ConvertType(out[0], new(uint64)).(*uint64)
	outstruct.Height = *abi.ConvertType(out[1], new(uint64)).(*uint64)
	outstruct.AppHash = *abi.ConvertType(out[2], new([32]byte)).(*[32]byte)
	outstruct.CheckpointHash = *abi.ConvertType(out[3], new([32]byte)).(*[32]byte)
	outstruct.ValidatorSet = *abi.ConvertType(out[4], new(*big.Int)).(**big.Int)

	return *outstruct, err

}

// Latest is a free data retrieval call binding the contract method 0x52bfe789.
//
// Solidity: function latest() view returns(uint64 epoch, uint64 height, bytes32 appHash_, bytes32 checkpointHash_, uint256 validatorSet_)
func (_CheckpointAnchor *CheckpointAnchorSession) Latest() (struct {
	Epoch          uint64
	Height         uint64
	AppHash        [32]byte
	CheckpointHash [32]byte
	ValidatorSet   *big.Int
}, error) {
	return _CheckpointAnchor.Contract.Latest(&_CheckpointAnchor.CallOpts)
}

// Latest is a free data retrieval call binding the contract method 0x52bfe789.
//
// Solidity: function latest() view returns(uint64 epoch, uint64 height, bytes32 appHash_, bytes32 checkpointHash_, uint256 validatorSet_)
func (_CheckpointAnchor *CheckpointAnchorCallerSession) Latest() (struct {
	Epoch          uint64
	Height         uint64
	AppHash        [32]byte
	CheckpointHash [32]byte
	ValidatorSet   *big.Int
}, error) {
	return _CheckpointAnchor.Contract.Latest(&_CheckpointAnchor.CallOpts)
}

// LatestEpoch is a free data retrieval call binding the contract method 0x9cb118bf.
//
// Solidity: function latestEpoch() view returns(uint64)
func (_CheckpointAnchor *CheckpointAnchorCaller) LatestEpoch(opts *bind.CallOpts) (uint64, error) {
	var out []interface{}
	err := _CheckpointAnchor.contract.Call(opts, &out, "latestEpoch")

	if err != nil {
		return *new(uint64), err
	}

	out0 := *abi.ConvertType(out[0], new(uint64)).(*uint64)

	return out0, err

}

// LatestEpoch is a free data retrieval call binding the contract method 0x9cb118bf.
//
// Solidity: function latestEpoch() view returns(uint64)
func (_CheckpointAnchor *CheckpointAnchorSession) LatestEpoch() (uint64, error) {
	return _CheckpointAnchor.Contract.LatestEpoch(&_CheckpointAnchor.CallOpts)
}

// LatestEpoch is a free data retrieval call binding the contract method 0x9cb118bf.
//
// Solidity: function latestEpoch() view returns(uint64)
func (_CheckpointAnchor *CheckpointAnchorCallerSession) LatestEpoch() (uint64, error) {
	return _CheckpointAnchor.Contract.LatestEpoch(&_CheckpointAnchor.CallOpts)
}

// LatestHeight is a free data retrieval call binding the contract method 0xe405bbc3.
//
// Solidity: function latestHeight() view returns(uint64)
func (_CheckpointAnchor *CheckpointAnchorCaller) LatestHeight(opts *bind.CallOpts) (uint64, error) {
	var out []interface{}
	err := _CheckpointAnchor.contract.Call(opts, &out, "latestHeight")

	if err != nil {
		return *new(uint64), err
	}

	out0 := *abi.ConvertType(out[0], new(uint64)).(*uint64)

	return out0, err

}

// LatestHeight is a free data retrieval call binding the contract method 0xe405bbc3.
//
// Solidity: function latestHeight() view returns(uint64)
func (_CheckpointAnchor *CheckpointAnchorSession) LatestHeight() (uint64, error) {
	return _CheckpointAnchor.Contract.LatestHeight(&_CheckpointAnchor.CallOpts)
}

// LatestHeight is a free data retrieval call binding the contract method 0xe405bbc3.
//
// Solidity: function latestHeight() view returns(uint64)
func (_CheckpointAnchor *CheckpointAnchorCallerSession) LatestHeight() (uint64, error) {
	return _CheckpointAnchor.Contract.LatestHeight(&_CheckpointAnchor.CallOpts)
}

// ValidatorSet is a free data retrieval call binding the contract method 0x9426e226.
//
// Solidity: function validatorSet() view returns(uint256)
func (_CheckpointAnchor *CheckpointAnchorCaller) ValidatorSet(opts *bind.CallOpts) (*big.Int, error) {
	var out []interface{}
	err := _CheckpointAnchor.contract.Call(opts, &out, "validatorSet")

	if err != nil {
		return *new(*big.Int), err
	}

	out0 := *abi.ConvertType(out[0], new(*big.Int)).(**big.Int)

	return out0, err

}

// ValidatorSet is a free data retrieval call binding the contract method 0x9426e226.
//
// Solidity: function validatorSet() view returns(uint256)
func (_CheckpointAnchor *CheckpointAnchorSession) ValidatorSet() (*big.Int, error) {
	return _CheckpointAnchor.Contract.ValidatorSet(&_CheckpointAnchor.CallOpts)
}

// ValidatorSet is a free data retrieval call binding the contract method 0x9426e226.
//
// Solidity: function validatorSet() view returns(uint256)
func (_CheckpointAnchor *CheckpointAnchorCallerSession) ValidatorSet() (*big.Int, error) {
	return _CheckpointAnchor.Contract.ValidatorSet(&_CheckpointAnchor.CallOpts)
}

// Verifier is a free data retrieval call binding the contract method 0x2b7ac3f3.
//
// Solidity: function verifier() view returns(address)
func (_CheckpointAnchor *CheckpointAnchorCaller) Verifier(opts *bind.CallOpts) (common.Address, error) {
	var out []interface{}
	err := _CheckpointAnchor.contract.Call(opts, &out, "verifier")

	if err != nil {
		return *new(common.Address), err
	}

	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)

	return out0, err

}

// Verifier is a free data retrieval call binding the contract method 0x2b7ac3f3.
//
// Solidity: function verifier() view returns(address)
func (_CheckpointAnchor *CheckpointAnchorSession) Verifier() (common.Address, error) {
	return _CheckpointAnchor.Contract.Verifier(&_CheckpointAnchor.CallOpts)
}

// Verifier is a free data retrieval call binding the contract method 0x2b7ac3f3.
//
// Solidity: function verifier() view returns(address)
func (_CheckpointAnchor *CheckpointAnchorCallerSession) Verifier() (common.Address, error) {
	return _CheckpointAnchor.Contract.Verifier(&_CheckpointAnchor.CallOpts)
}

// SubmitCheckpoint is a paid mutator transaction binding the contract method 0x05907711.
//
// Solidity: function submitCheckpoint((uint64,uint64,bytes32,bytes32,uint256,uint256,bytes32) cp, bytes proof) returns()
func (_CheckpointAnchor *CheckpointAnchorTransactor) SubmitCheckpoint(opts *bind.TransactOpts, cp CheckpointAnchorCheckpoint, proof []byte) (*types.Transaction, error) {
	return _CheckpointAnchor.contract.Transact(opts, "submitCheckpoint", cp, proof)
}

// SubmitCheckpoint is a paid mutator transaction binding the contract method 0x05907711.
//
// Solidity: function submitCheckpoint((uint64,uint64,bytes32,bytes32,uint256,uint256,bytes32) cp, bytes proof) returns()
func (_CheckpointAnchor *CheckpointAnchorSession) SubmitCheckpoint(cp CheckpointAnchorCheckpoint, proof []byte) (*types.Transaction, error) {
	return _CheckpointAnchor.Contract.SubmitCheckpoint(&_CheckpointAnchor.TransactOpts, cp, proof)
}

// SubmitCheckpoint is a paid mutator transaction binding the contract method 0x05907711.
//
// Solidity: function submitCheckpoint((uint64,uint64,bytes32,bytes32,uint256,uint256,bytes32) cp, bytes proof) returns()
func (_CheckpointAnchor *CheckpointAnchorTransactorSession) SubmitCheckpoint(cp CheckpointAnchorCheckpoint, proof []byte) (*types.Transaction, error) {
	return _CheckpointAnchor.Contract.SubmitCheckpoint(&_CheckpointAnchor.TransactOpts, cp, proof)
}

// CheckpointAnchorCheckpointAnchoredIterator is returned from FilterCheckpointAnchored and is used to iterate over the raw logs and unpacked data for CheckpointAnchored events raised by the CheckpointAnchor contract.
type CheckpointAnchorCheckpointAnchoredIterator struct {
	Event *CheckpointAnchorCheckpointAnchored // Event containing the contract specifics and raw log

	contract *bind.BoundContract // Generic contract to use for unpacking event data
	event    string              // Event name to use for unpacking event data

	logs chan types.Log        // Log channel receiving the found contract events
	sub  ethereum.Subscription // Subscription for errors, completion and termination
	done bool                  // Whether the subscription completed delivering logs
	fail error                 // Occurred error to stop iteration
}

// Next advances the iterator to the subsequent event, returning whether there
// are any more events found. In case of a retrieval or parsing error, false is
// returned and Error() can be queried for the exact failure.
func (it *CheckpointAnchorCheckpointAnchoredIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(CheckpointAnchorCheckpointAnchored)
			if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
				it.fail = err
				return false
			}
			it.Event.Raw = log
			return true

		default:
			return false
		}
	}
	// Iterator still in progress, wait for either a data or an error event
	select {
	case log := <-it.logs:
		it.Event = new(CheckpointAnchorCheckpointAnchored)
		if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
			it.fail = err
			return false
		}
		it.Event.Raw = log
		return true

	case err := <-it.sub.Err():
		it.done = true
		it.fail = err
		return it.Next()
	}
}

// Error returns any retrieval or parsing error occurred during filtering.
func (it *CheckpointAnchorCheckpointAnchoredIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *CheckpointAnchorCheckpointAnchoredIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// CheckpointAnchorCheckpointAnchored represents a CheckpointAnchored event raised by the CheckpointAnchor contract.
type CheckpointAnchorCheckpointAnchored struct {
	Epoch          uint64
	Height         uint64
	AppHash        [32]byte
	CheckpointHash [32]byte
	ValidatorSet   *big.Int
	Raw            types.Log // Blockchain specific contextual infos
}

// FilterCheckpointAnchored is a free log retrieval operation binding the contract event 0x951be6baf056e29839e98f92322422d4ad5db42b87e53e96f887db4cd45c085a.
//
// Solidity: event CheckpointAnchored(uint64 indexed epoch, uint64 height, bytes32 appHash, bytes32 checkpointHash, uint256 validatorSet)
func (_CheckpointAnchor *CheckpointAnchorFilterer) FilterCheckpointAnchored(opts *bind.FilterOpts, epoch []uint64) (*CheckpointAnchorCheckpointAnchoredIterator, error) {

	var epochRule []interface{}
	for _, epochItem := range epoch {
		epochRule = append(epochRule, epochItem)
	}

	logs, sub, err := _CheckpointAnchor.contract.FilterLogs(opts, "CheckpointAnchored", epochRule)
	if err != nil {
		return nil, err
	}
	return &CheckpointAnchorCheckpointAnchoredIterator{contract: _CheckpointAnchor.contract, event: "CheckpointAnchored", logs: logs, sub: sub}, nil
}

// WatchCheckpointAnchored is a free log subscription operation binding the contract event 0x951be6baf056e29839e98f92322422d4ad5db42b87e53e96f887db4cd45c085a.
//
// Solidity: event CheckpointAnchored(uint64 indexed epoch, uint64 height, bytes32 appHash, bytes32 checkpointHash, uint256 validatorSet)
func (_CheckpointAnchor *CheckpointAnchorFilterer) WatchCheckpointAnchored(opts *bind.WatchOpts, sink chan<- *CheckpointAnchorCheckpointAnchored, epoch []uint64) (event.Subscription, error) {

	var epochRule []interface{}
	for _, epochItem := range epoch {
		epochRule = append(epochRule, epochItem)
	}

	logs, sub, err := _CheckpointAnchor.contract.WatchLogs(opts, "CheckpointAnchored", epochRule)
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(CheckpointAnchorCheckpointAnchored)
				if err := _CheckpointAnchor.contract.UnpackLog(event, "CheckpointAnchored", log); err != nil {
					// If the signature doesn't match, skip this log.
					if errors.Is(err, bind.ErrEventSignatureMismatch) {
						continue
					}
					return err
				}
				event.Raw = log

				select {
				case sink <- event:
				case err := <-sub.Err():
					return err
				case <-quit:
					return nil
				}
			case err := <-sub.Err():
				return err
			case <-quit:
				return nil
			}
		}
	}), nil
}

// ParseCheckpointAnchored is a log parse operation binding the contract event 0x951be6baf056e29839e98f92322422d4ad5db42b87e53e96f887db4cd45c085a.
//
// Solidity: event CheckpointAnchored(uint64 indexed epoch, uint64 height, bytes32 appHash, bytes32 checkpointHash, uint256 validatorSet)
func (_CheckpointAnchor *CheckpointAnchorFilterer) ParseCheckpointAnchored(log types.Log) (*CheckpointAnchorCheckpointAnchored, error) {
	event := new(CheckpointAnchorCheckpointAnchored)
	if err := _CheckpointAnchor.contract.UnpackLog(event, "CheckpointAnchored", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}

// CheckpointAnchorValidatorSetHandedOverIterator is returned from FilterValidatorSetHandedOver and is used to iterate over the raw logs and unpacked data for ValidatorSetHandedOver events raised by the CheckpointAnchor contract.
type CheckpointAnchorValidatorSetHandedOverIterator struct {
	Event *CheckpointAnchorValidatorSetHandedOver // Event containing the contract specifics and raw log

	contract *bind.BoundContract // Generic contract to use for unpacking event data
	event    string              // Event name to use for unpacking event data

	logs chan types.Log        // Log channel receiving the found contract events
	sub  ethereum.Subscription // Subscription for errors, completion and termination
	done bool                  // Whether the subscription completed delivering logs
	fail error                 // Occurred error to stop iteration
}

// Next advances the iterator to the subsequent event, returning whether there
// are any more events found. In case of a retrieval or parsing error, false is
// returned and Error() can be queried for the exact failure.
func (it *CheckpointAnchorValidatorSetHandedOverIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(CheckpointAnchorValidatorSetHandedOver)
			if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
				it.fail = err
				return false
			}
			it.Event.Raw = log
			return true

		default:
			return false
		}
	}
	// Iterator still in progress, wait for either a data or an error event
	select {
	case log := <-it.logs:
		it.Event = new(CheckpointAnchorValidatorSetHandedOver)
		if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
			it.fail = err
			return false
		}
		it.Event.Raw = log
		return true

	case err := <-it.sub.Err():
		it.done = true
		it.fail = err
		return it.Next()
	}
}

// Error returns any retrieval or parsing error occurred during filtering.
func (it *CheckpointAnchorValidatorSetHandedOverIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *CheckpointAnchorValidatorSetHandedOverIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// CheckpointAnchorValidatorSetHandedOver represents a ValidatorSetHandedOver event raised by the CheckpointAnchor contract.
type CheckpointAnchorValidatorSetHandedOver struct {
	Epoch    uint64
	Previous *big.Int
	Next     *big.Int
	Raw      types.Log // Blockchain specific contextual infos
}

// FilterValidatorSetHandedOver is a free log retrieval operation binding the contract event 0x03575ecd9202afd8f378ff332fa4946336f8c725c099699190ce835e6f89b0f3.
//
// Solidity: event ValidatorSetHandedOver(uint64 indexed epoch, uint256 previous, uint256 next)
func (_CheckpointAnchor *CheckpointAnchorFilterer) FilterValidatorSetHandedOver(opts *bind.FilterOpts, epoch []uint64) (*CheckpointAnchorValidatorSetHandedOverIterator, error) {

	var epochRule []interface{}
	for _, epochItem := range epoch {
		epochRule = append(epochRule, epochItem)
	}

	logs, sub, err := _CheckpointAnchor.contract.FilterLogs(opts, "ValidatorSetHandedOver", epochRule)
	if err != nil {
		return nil, err
	}
	return &CheckpointAnchorValidatorSetHandedOverIterator{contract: _CheckpointAnchor.contract, event: "ValidatorSetHandedOver", logs: logs, sub: sub}, nil
}

// WatchValidatorSetHandedOver is a free log subscription operation binding the contract event 0x03575ecd9202afd8f378ff332fa4946336f8c725c099699190ce835e6f89b0f3.
//
// Solidity: event ValidatorSetHandedOver(uint64 indexed epoch, uint256 previous, uint256 next)
func (_CheckpointAnchor *CheckpointAnchorFilterer) WatchValidatorSetHandedOver(opts *bind.WatchOpts, sink chan<- *CheckpointAnchorValidatorSetHandedOver, epoch []uint64) (event.Subscription, error) {

	var epochRule []interface{}
	for _, epochItem := range epoch {
		epochRule = append(epochRule, epochItem)
	}

	logs, sub, err := _CheckpointAnchor.contract.WatchLogs(opts, "ValidatorSetHandedOver", epochRule)
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(CheckpointAnchorValidatorSetHandedOver)
				if err := _CheckpointAnchor.contract.UnpackLog(event, "ValidatorSetHandedOver", log); err != nil {
					// If the signature doesn't match, skip this log.
					if errors.Is(err, bind.ErrEventSignatureMismatch) {
						continue
					}
					return err
				}
				event.Raw = log

				select {
				case sink <- event:
				case err := <-sub.Err():
					return err
				case <-quit:
					return nil
				}
			case err := <-sub.Err():
				return err
			case <-quit:
				return nil
			}
		}
	}), nil
}

// ParseValidatorSetHandedOver is a log parse operation binding the contract event 0x03575ecd9202afd8f378ff332fa4946336f8c725c099699190ce835e6f89b0f3.
//
// Solidity: event ValidatorSetHandedOver(uint64 indexed epoch, uint256 previous, uint256 next)
func (_CheckpointAnchor *CheckpointAnchorFilterer) ParseValidatorSetHandedOver(log types.Log) (*CheckpointAnchorValidatorSetHandedOver, error) {
	event := new(CheckpointAnchorValidatorSetHandedOver)
	if err := _CheckpointAnchor.contract.UnpackLog(event, "ValidatorSetHandedOver", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}
