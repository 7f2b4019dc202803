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

// VerifierMetaData contains all meta data concerning the Verifier contract.
var VerifierMetaData = &bind.MetaData{
	ABI: "[{\"inputs\":[],\"name\":\"ProofInvalid\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"PublicInputNotInField\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"bytes\",\"name\":\"proof\",\"type\":\"bytes\"}],\"name\":\"compressProof\",\"outputs\":[{\"internalType\":\"uint256[4]\",\"name\":\"compressed\",\"type\":\"uint256[4]\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint256[4]\",\"name\":\"compressedProof\",\"type\":\"uint256[4]\"},{\"internalType\":\"uint256[2]\",\"name\":\"input\",\"type\":\"uint256[2]\"}],\"name\":\"verifyCompressedProof\",\"outputs\":[],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes\",\"name\":\"proof\",\"type\":\"bytes\"},{\"internalType\":\"uint256[2]\",\"name\":\"input\",\"type\":\"uint256[2]\"}],\"name\":\"verifyProof\",\"outputs\":[],\"stateMutability\":\"view\",\"type\":\"function\"}]",
	Bin: "0x6080604052348015600e575f5ffd5b5061140f8061001c5f395ff3fe608060405234801561000f575f5ffd5b506004361061003f575f3560e01c80630ea14a3914610043578063e1ff50821461006c578063f11817b214610081575b5f5ffd5b61005661005136600461127e565b610094565b60405161006391906112bd565b60405180910390f35b61007f61007a3660046112fd565b610150565b005b61007f61008f36600461134e565b610416565b61009c6111de565b61010082146100e95760405162461bcd60e51b81526020600482015260146024820152730d2dcecc2d8d2c840e0e4dedecc40d8cadccee8d60631b60448201526064015b60405180910390fd5b823560208401356100fa828261072f565b835250506060830135604084013560a0850135608086013561011e8484848461081c565b6020870152604086015260c0870135935060e08701359250610140848461072f565b6060860152509295945050505050565b61010082146101985760405162461bcd60e51b81526020600482015260146024820152730d2dcecc2d8d2c840e0e4dedecc40d8cadccee8d60631b60448201526064016100e0565b5f5f6101a383610af5565b915091505f6040516101008782377f172c4c3124fe456236cfb93aba0c4cf6e422ba22c7de5d63bfd99d1839161a146101008201527f1c5bbc314f9358a26b20f3564d8dcfb91e22faf20a640e587b84c30a8b6f73526101208201527f1b6c64739635b4581fd5aea40198fda222b07812d431962ecd2419c04d1193b36101408201527f0ce17c3609a10eb8437b178c2f5f999c8bc0a03f372d802cdd087c545c2787ae6101608201527f0102adcf6d7889b77f00be869643aac2c361bbaf32f3e114c4f22f6865657c5b6101808201527f2ca99aae323d6c717b7a311abbcf386e2b053dbe6cff0aced88b0ab26f38d5996101a08201527f2e6d251f3c51cf771d7c1c210436fe74414a10798bd97f8699f1aa20014d42e86101c08201527f2b4b65d676676cb8f6ecf77580400852374d948b1f7ae461dbf631a3a4c8d7c66101e08201527f09d992e0071cac65dae982de576a49aaf8b043c240ca262368518fb5630097396102008201527f1b4c8199939610758194a199ffb8e78050331ab4b5aad7ca0f2049251214c3d061022082015283610240820152826102608201527f2cb30019fcbcf58cce08284d847a4a77c6c1c8d1352b8859390553bca811712d6102808201527f120fc3a68afd3fc3b38e141a3b0476fa615abc06a0096920b8605bcac6b952336102a08201527ea3dc93da40b5b09ee4f980b5f31f4347a50c8f41792d5188e0f03016f59a6a6102c08201527f20fb258e74cd8363f2ba459ce89e05880439223b448635d3d030183e4741be7d6102e08201526020816103008360085afa90511690508061040e57604051631ff3747d60e21b815260040160405180910390fd5b505050505050565b61041e6111fc565b5f8061043085825b6020020135610cad565b90925090505f80808061044b60408a013560208b0135610d4b565b929650909450925090505f806104628b6003610426565b915091505f5f6104718c610af5565b8b8d5260208d018b905260408d0189905260608d018a905260808d0187905260a08d0188905260c08d0186905260e08d018590527f172c4c3124fe456236cfb93aba0c4cf6e422ba22c7de5d63bfd99d1839161a146101008e01527f1c5bbc314f9358a26b20f3564d8dcfb91e22faf20a640e587b84c30a8b6f73526101208e01527f1b6c64739635b4581fd5aea40198fda222b07812d431962ecd2419c04d1193b36101408e01527f0ce17c3609a10eb8437b178c2f5f999c8bc0a03f372d802cdd087c545c2787ae6101608e01527f0102adcf6d7889b77f00be869643aac2c361bbaf32f3e114c4f22f6865657c5b6101808e01527f2ca99aae323d6c717b7a311abbcf386e2b053dbe6cff0aced88b0ab26f38d5996101a08e01527f2e6d251f3c51cf771d7c1c210436fe74414a10798bd97f8699f1aa20014d42e86101c08e01527f2b4b65d676676cb8f6ecf77580400852374d948b1f7ae461dbf631a3a4c8d7c66101e08e01527f09d992e0071cac65dae982de576a49aaf8b043c240ca262368518fb5630097396102008e01527f1b4c8199939610758194a199ffb8e78050331ab4b5aad7ca0f2049251214c3d06102208e01526102408d018290526102608d018190527f2cb30019fcbcf58cce08284d847a4a77c6c1c8d1352b8859390553bca811712d6102808e01527f120fc3a68afd3fc3b38e141a3b0476fa615abc06a0096920b8605bcac6b952336102a08e01527ea3dc93da40b5b09ee4f980b5f31f4347a50c8f41792d5188e0f03016f59a6a6102c08e01527f20fb258e74cd8363f2ba459ce89e05880439223b448635d3d030183e4741be7d6102e08e015290925090505f6106e461121b565b6020816103008f60085afa915081158061070057508051600114155b1561071e57604051631ff3747d60e21b815260040160405180910390fd5b505050505050505050505050505050565b5f5f5160206113ba5f395f51905f528310158061075957505f5160206113ba5f395f51905f528210155b1561077757604051631ff3747d60e21b815260040160405180910390fd5b82158015610783575081155b1561078f57505f610816565b5f6107ca5f5160206113ba5f395f51905f5260035f5160206113ba5f395f51905f52875f5160206113ba5f395f51905f52898a090908610f1f565b90508083036107df575050600182901b610816565b6107e881610f81565b83036107fb575050600182811b17610816565b604051631ff3747d60e21b815260040160405180910390fd5b505b92915050565b5f5f5f5160206113ba5f395f51905f528610158061084757505f5160206113ba5f395f51905f528510155b8061085f57505f5160206113ba5f395f51905f528410155b8061087757505f5160206113ba5f395f51905f528310155b1561089557604051631ff3747d60e21b815260040160405180910390fd5b828486881717175f036108ac57505f905080610aec565b5f80805f5160206113ba5f395f51905f526108d560035f5160206113ba5f395f51905f5261139a565b5f5160206113ba5f395f51905f528a8c090990505f5f5160206113ba5f395f51905f528a5f5160206113ba5f395f51905f528c8d090990505f5f5160206113ba5f395f51905f528a5f5160206113ba5f395f51905f528c8d090990505f5160206113ba5f395f51905f52805f5160206113ba5f395f51905f528c860984087f2b149d40ceb8aaae81be18991be06ac3b5b4c5e559dbefa33267e6dc24a138e50894506109c35f5160206113ba5f395f51905f52805f5160206113ba5f395f51905f528e870984087f2fcd3ac2a640a154eb23960892a85a68f031ca0c8344b23a577dcf1052b9e77508610f81565b93505050505f5f610a105f5160206113ba5f395f51905f52806109e8576109e8611386565b5f5160206113ba5f395f51905f528586095f5160206113ba5f395f51905f5287880908610f1f565b9050610a5b5f5160206113ba5f395f51905f527f183227397098d014dc2822db40c0ac2ecbc0b548b438e5469e10460b6c3e7ea45f5160206113ba5f395f51905f5284880809610f99565b15915050610a6a838383610fe1565b90935091508683148015610a7d57508186145b15610aa55780610a8d575f610a90565b60025b60ff1660028a901b175f179450879350610ae8565b610aae83610f81565b87148015610ac35750610ac082610f81565b86145b156107fb5780610ad3575f610ad6565b60025b60ff1660028a901b1760011794508793505b5050505b94509492505050565b5f5f5f60019050604051604081015f7f180b660a4b9a221d0467cd9efc942caa39912564c6d4df8fb2312da65ac8ea0b83527f29e0d36cb0dc0b98bb38521a5f384ac0133124afa9029f29a72a556f8c76cc4a60208401527f1fe378bb6e7692c4e44e0fd65358be5eff39115f32897aa4f73ce875ac74576082527f27f040cc88987c68b52900816a80df1654e8e4f850fd5c5e48fa5dbebb0f4a4b6020830152863590508060408301527f30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f000000181108416935060408260608460075afa8416935060408360808560065afa841693507f0cc4b33bd53b0e26351a95e6c51baa4bf878a2679279bf49fe8299f74288db5682527f2a276b0812f0c69825455319985f049cb82863d162bbde232c86b5e9b5ee73716020830152602087013590508060408301527f30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f00000018110841693505060408160608360075afa831692505060408160808360065afa81516020909201519194509092501680610ca75760405163a54f8e2760e01b815260040160405180910390fd5b50915091565b5f5f825f03610cc057505f928392509050565b600183811c9250808416145f5160206113ba5f395f51905f528310610cf857604051631ff3747d60e21b815260040160405180910390fd5b610d325f5160206113ba5f395f51905f5260035f5160206113ba5f395f51905f52865f5160206113ba5f395f51905f528889090908610f1f565b91508015610ca757610d4382610f81565b915050915091565b5f80808085158015610d5b575084155b15610d7057505f925082915081905080610f16565b600286811c945085935060018088161490808816145f5160206113ba5f395f51905f5286101580610dae57505f5160206113ba5f395f51905f528510155b15610dcc57604051631ff3747d60e21b815260040160405180910390fd5b5f5f5160206113ba5f395f51905f52610df360035f5160206113ba5f395f51905f5261139a565b5f5160206113ba5f395f51905f52888a090990505f5f5160206113ba5f395f51905f52885f5160206113ba5f395f51905f528a8b090990505f5f5160206113ba5f395f51905f52885f5160206113ba5f395f51905f528a8b090990505f5160206113ba5f395f51905f52805f5160206113ba5f395f51905f528a860984087f2b149d40ceb8aaae81be18991be06ac3b5b4c5e559dbefa33267e6dc24a138e5089650610ee15f5160206113ba5f395f51905f52805f5160206113ba5f395f51905f528c870984087f2fcd3ac2a640a154eb23960892a85a68f031ca0c8344b23a577dcf1052b9e77508610f81565b9550610eee878786610fe1565b90975095508415610f1057610f0287610f81565b9650610f0d86610f81565b95505b50505050505b92959194509250565b5f610f4a827f0c19139cb84c680a6e14116da060561765e05aa45a1c72a34f082305b61f3f5261111d565b9050815f5160206113ba5f395f51905f5282830914610f7c57604051631ff3747d60e21b815260040160405180910390fd5b919050565b5f5160206113ba5f395f51905f529081900681030690565b5f5f610fc5837f0c19139cb84c680a6e14116da060561765e05aa45a1c72a34f082305b61f3f5261111d565b9050825f5160206113ba5f395f51905f52828309149392505050565b5f80806110105f5160206113ba5f395f51905f52808788095f5160206113ba5f395f51905f52898a0908610f1f565b905083156110245761102181610f81565b90505b61106d5f5160206113ba5f395f51905f527f183227397098d014dc2822db40c0ac2ecbc0b548b438e5469e10460b6c3e7ea45f5160206113ba5f395f51905f52848a0809610f1f565b92505f5160206113ba5f395f51905f526110975f5160206113ba5f395f51905f5260028609611180565b860991505f5160206113ba5f395f51905f526110c25f5160206113ba5f395f51905f52848509610f81565b5f5160206113ba5f395f51905f5285860908861415806110f657505f5160206113ba5f395f51905f52808385096002098514155b1561111457604051631ff3747d60e21b815260040160405180910390fd5b50935093915050565b5f5f60405160208152602080820152602060408201528460608201528360808201525f5160206113ba5f395f51905f5260a082015260208160c08360055afa9051925090508061081457604051631ff3747d60e21b815260040160405180910390fd5b5f6111ab827f30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd4561111d565b90505f5160206113ba5f395f51905f52818309600114610f7c57604051631ff3747d60e21b815260040160405180910390fd5b60405180608001604052806004906020820280368337509192915050565b6040518061030001604052806018906020820280368337509192915050565b60405180602001604052806001906020820280368337509192915050565b5f5f83601f840112611249575f5ffd5b50813567ffffffffffffffff811115611260575f5ffd5b602083019150836020828501011115611277575f5ffd5b9250929050565b5f5f6020838503121561128f575f5ffd5b823567ffffffffffffffff8111156112a5575f5ffd5b6112b185828601611239565b90969095509350505050565b6080810181835f5b60048110156112e45781518352602092830192909101906001016112c5565b50505092915050565b8060408101831015610816575f5ffd5b5f5f5f6060848603121561130f575f5ffd5b833567ffffffffffffffff811115611325575f5ffd5b61133186828701611239565b9094509250611345905085602086016112ed565b90509250925092565b5f5f60c0838503121561135f575f5ffd5b608083018481111561136f575f5ffd5b83925061137c85826112ed565b9150509250929050565b634e487b7160e01b5f52601260045260245ffd5b8181038181111561081657634e487b7160e01b5f52601160045260245ffdfe30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47a2646970667358221220d3cbebd5febe0f751be50c1f93b783bc94b35c65f572b1d8880efe727f9f083b64736f6c634300081e0033",
}

// VerifierABI is the input ABI used to generate the binding from.
// Deprecated: Use VerifierMetaData.ABI instead.
var VerifierABI = VerifierMetaData.ABI

// VerifierBin is the compiled bytecode used for deploying new contracts.
// Deprecated: Use VerifierMetaData.Bin instead.
var VerifierBin = VerifierMetaData.Bin

// DeployVerifier deploys a new Ethereum contract, binding an instance of Verifier to it.
func DeployVerifier(auth *bind.TransactOpts, backend bind.ContractBackend) (common.Address, *types.Transaction, *Verifier, error) {
	parsed, err := VerifierMetaData.GetAbi()
	if err != nil {
		return common.Address{}, nil, nil, err
	}
	if parsed == nil {
		return common.Address{}, nil, nil, errors.New("GetABI returned nil")
	}

	address, tx, contract, err := bind.DeployContract(auth, *parsed, common.FromHex(VerifierBin), backend)
	if err != nil {
		return common.Address{}, nil, nil, err
	}
	return address, tx, &Verifier{VerifierCaller: VerifierCaller{contract: contract}, VerifierTransactor: VerifierTransactor{contract: contract}, VerifierFilterer: VerifierFilterer{contract: contract}}, nil
}

// Verifier is an auto generated Go binding around an Ethereum contract.
type Verifier struct {
	VerifierCaller     // Read-only binding to the contract
	VerifierTransactor // Write-only binding to the contract
	VerifierFilterer   // Log filterer for contract events
}

// VerifierCaller is an auto generated read-only Go binding around an Ethereum contract.
type VerifierCaller struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// VerifierTransactor is an auto generated write-only Go binding around an Ethereum contract.
type VerifierTransactor struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// VerifierFilterer is an auto generated log filtering Go binding around an Ethereum contract events.
type VerifierFilterer struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// VerifierSession is an auto generated Go binding around an Ethereum contract,
// with pre-set call and transact options.
type VerifierSession struct {
	Contract     *Verifier         // Generic contract binding to set the session for
	CallOpts     bind.CallOpts     // Call options to use throughout this session
	TransactOpts bind.TransactOpts // Transaction auth options to use throughout this session
}

// VerifierCallerSession is an auto generated read-only Go binding around an Ethereum contract,
// with pre-set call options.
type VerifierCallerSession struct {
	Contract *VerifierCaller // Generic contract caller binding to set the session for
	CallOpts bind.CallOpts   // Call options to use throughout this session
}

// VerifierTransactorSession is an auto generated write-only Go binding around an Ethereum contract,
// with pre-set transact options.
type VerifierTransactorSession struct {
	Contract     *VerifierTransactor // Generic contract transactor binding to set the session for
	TransactOpts bind.TransactOpts   // Transaction auth options to use throughout this session
}

// VerifierRaw is an auto generated low-level Go binding around an Ethereum contract.
type VerifierRaw struct {
	Contract *Verifier // Generic contract binding to access the raw methods on
}

// VerifierCallerRaw is an auto generated low-level read-only Go binding around an Ethereum contract.
type VerifierCallerRaw struct {
	Contract *VerifierCaller // Generic read-only contract binding to access the raw methods on
}

// VerifierTransactorRaw is an auto generated low-level write-only Go binding around an Ethereum contract.
type VerifierTransactorRaw struct {
	Contract *VerifierTransactor // Generic write-only contract binding to access the raw methods on
}

// NewVerifier creates a new instance of Verifier, bound to a specific deployed contract.
func NewVerifier(address common.Address, backend bind.ContractBackend) (*Verifier, error) {
	contract, err := bindVerifier(address, backend, backend, backend)
	if err != nil {
		return nil, err
	}
	return &Verifier{VerifierCaller: VerifierCaller{contract: contract}, VerifierTransactor: VerifierTransactor{contract: contract}, VerifierFilterer: VerifierFilterer{contract: contract}}, nil
}

// NewVerifierCaller creates a new read-only instance of Verifier, bound to a specific deployed contract.
func NewVerifierCaller(address common.Address, caller bind.ContractCaller) (*VerifierCaller, error) {
	contract, err := bindVerifier(address, caller, nil, nil)
	if err != nil {
		return nil, err
	}
	return &VerifierCaller{contract: contract}, nil
}

// NewVerifierTransactor creates a new write-only instance of Verifier, bound to a specific deployed contract.
func NewVerifierTransactor(address common.Address, transactor bind.ContractTransactor) (*VerifierTransactor, error) {
	contract, err := bindVerifier(address, nil, transactor, nil)
	if err != nil {
		return nil, err
	}
	return &VerifierTransactor{contract: contract}, nil
}

// NewVerifierFilterer creates a new log filterer instance of Verifier, bound to a specific deployed contract.
func NewVerifierFilterer(address common.Address, filterer bind.ContractFilterer) (*VerifierFilterer, error) {
	contract, err := bindVerifier(address, nil, nil, filterer)
	if err != nil {
		return nil, err
	}
	return &VerifierFilterer{contract: contract}, nil
}

// bindVerifier binds a generic wrapper to an already deployed contract.
func bindVerifier(address common.Address, caller bind.ContractCaller, transactor bind.ContractTransactor, filterer bind.ContractFilterer) (*bind.BoundContract, error) {
	parsed, err := VerifierMetaData.GetAbi()
	if err != nil {
		return nil, err
	}
	return bind.NewBoundContract(address, *parsed, caller, transactor, filterer), nil
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_Verifier *VerifierRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _Verifier.Contract.VerifierCaller.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_Verifier *VerifierRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _Verifier.Contract.VerifierTransactor.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_Verifier *VerifierRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _Verifier.Contract.VerifierTransactor.contract.Transact(opts, method, params...)
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_Verifier *VerifierCallerRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _Verifier.Contract.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_Verifier *VerifierTransactorRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _Verifier.Contract.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_Verifier *VerifierTransactorRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _Verifier.Contract.contract.Transact(opts, method, params...)
}

// CompressProof is a free data retrieval call binding the contract method 0x0ea14a39.
//
// Solidity: function compressProof(bytes proof) view returns(uint256[4] compressed)
func (_Verifier *VerifierCaller) CompressProof(opts *bind.CallOpts, proof []byte) ([4]*big.Int, error) {
	var out []interface{}
	err := _Verifier.contract.Call(opts, &out, "compressProof", proof)

	if err != nil {
		return *new([4]*big.Int), err
	}

	out0 := *abi.ConvertType(out[0], new([4]*big.Int)).(*[4]*big.Int)

	return out0, err

}

// CompressProof is a free data retrieval call binding the contract method 0x0ea14a39.
//
// Solidity: function compressProof(bytes proof) view returns(uint256[4] compressed)
func (_Verifier *VerifierSession) CompressProof(proof []byte) ([4]*big.Int, error) {
	return _Verifier.Contract.CompressProof(&_Verifier.CallOpts, proof)
}

// CompressProof is a free data retrieval call binding the contract method 0x0ea14a39.
//
// Solidity: function compressProof(bytes proof) view returns(uint256[4] compressed)
func (_Verifier *VerifierCallerSession) CompressProof(proof []byte) ([4]*big.Int, error) {
	return _Verifier.Contract.CompressProof(&_Verifier.CallOpts, proof)
}

// VerifyCompressedProof is a free data retrieval call binding the contract method 0xf11817b2.
//
// Solidity: function verifyCompressedProof(uint256[4] compressedProof, uint256[2] input) view returns()
func (_Verifier *VerifierCaller) VerifyCompressedProof(opts *bind.CallOpts, compressedProof [4]*big.Int, input [2]*big.Int) error {
	var out []interface{}
	err := _Verifier.contract.Call(opts, &out, "verifyCompressedProof", compressedProof, input)

	if err != nil {
		return err
	}

	return err

}

// VerifyCompressedProof is a free data retrieval call binding the contract method 0xf11817b2.
//
// Solidity: function verifyCompressedProof(uint256[4] compressedProof, uint256[2] input) view returns()
func (_Verifier *VerifierSession) VerifyCompressedProof(compressedProof [4]*big.Int, input [2]*big.Int) error {
	return _Verifier.Contract.VerifyCompressedProof(&_Verifier.CallOpts, compressedProof, input)
}

// VerifyCompressedProof is a free data retrieval call binding the contract method 0xf11817b2.
//
// Solidity: function verifyCompressedProof(uint256[4] compressedProof, uint256[2] input) view returns()
func (_Verifier *VerifierCallerSession) VerifyCompressedProof(compressedProof [4]*big.Int, input [2]*big.Int) error {
	return _Verifier.Contract.VerifyCompressedProof(&_Verifier.CallOpts, compressedProof, input)
}

// VerifyProof is a free data retrieval call binding the contract method 0xe1ff5082.
//
// Solidity: function verifyProof(bytes proof, uint256[2] input) view returns()
func (_Verifier *VerifierCaller) VerifyProof(opts *bind.CallOpts, proof []byte, input [2]*big.Int) error {
	var out []interface{}
	err := _Verifier.contract.Call(opts, &out, "verifyProof", proof, input)

	if err != nil {
		return err
	}

	return err

}

// VerifyProof is a free data retrieval call binding the contract method 0xe1ff5082.
//
// Solidity: function verifyProof(bytes proof, uint256[2] input) view returns()
func (_Verifier *VerifierSession) VerifyProof(proof []byte, input [2]*big.Int) error {
	return _Verifier.Contract.VerifyProof(&_Verifier.CallOpts, proof, input)
}

// VerifyProof is a free data retrieval call binding the contract method 0xe1ff5082.
//
// Solidity: function verifyProof(bytes proof, uint256[2] input) view returns()
func (_Verifier *VerifierCallerSession) VerifyProof(proof []byte, input [2]*big.Int) error {
	return _Verifier.Contract.VerifyProof(&_Verifier.CallOpts, proof, input)
}
